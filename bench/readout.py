"""What a person reads of a task's results: the summary's columns and plots, declared.

A task declares them beside its metrics (import-light, no pandas or torch here);
:mod:`bench.summary` and :mod:`bench.plots` render them. The wide ``summary.csv``
keeps every summary metric; the Markdown table shows the declared columns, in order,
while they fit a 100-column terminal.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Column:
    """One column of ``summary.md``.

    Attributes:
        metric: the record's metric name.
        label: its short display name (units included, e.g. ``"PSNR dB"``).
        ci: show the mean CI ``[low, high]`` (the metric's ``_ci_low``/``_ci_high``)
            instead of ``mean ± std``.
        bound: a theoretical upper bound: a value that underflowed to 0 is shown as
            ``< 1e-12`` (not as an impossibility), without a spread when the seeds agree.
    """

    metric: str
    label: str
    ci: bool = False
    bound: bool = False


@dataclass(frozen=True)
class Reference:
    """A horizontal reference line of a plot: the mean of ``metric`` over the records (a
    floor or ceiling the task measures, e.g. FID of real vs real), or a constant."""

    label: str
    metric: str | None = None
    value: float | None = None


@dataclass(frozen=True)
class Plot:
    """One panel of ``summary.png``: a headline metric against epsilon.

    Attributes:
        metric: the record's metric; its direction (from the metric registry) goes into
            the axis label.
        label: the axis label without the direction.
        references: floor/ceiling lines.
        bound: a metric drawn as the theoretical bound of ``metric`` (dashed).
        log: log y axis (probabilities spanning many decades).
        direction: the axis label's direction text in place of the registry's
            ``higher/lower is better`` (an attack's success: ``higher = stronger attack``).
    """

    metric: str
    label: str
    references: tuple[Reference, ...] = ()
    bound: str | None = None
    log: bool = False
    direction: str | None = None


@dataclass(frozen=True)
class Readout:
    """The summary columns (in priority order) and plots of a task."""

    columns: tuple[Column, ...]
    plots: tuple[Plot, ...]
