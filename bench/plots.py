"""The privacy-utility plot: one panel per headline metric against epsilon.

Each panel (a :class:`bench.readout.Plot` of the task) draws one colour per method:
measured points with error bars (the metric's CI, else the std over seeds), a line
joining the finite epsilons, the theoretical bound dashed, and the task's floor or
ceiling lines in grey. The axis label says the direction ("FID (lower is better)").
The non-private baseline (epsilon = inf) sits at a separate tick labelled "inf" right
of the largest finite epsilon, on a log axis. A log y axis (probabilities) draws zeros
and values below its floor as triangles on the floor (filled: measured, open: bound),
unjoined, and says so.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from bench.metrics import higher_is_better
from bench.readout import Plot, Readout
from bench.summary_format import fmt
from bench.tasks.base import TaskSpec

REFERENCE_STYLES = (":", "-.", (0, (5, 2, 1, 2)))
LOG_DECADES = 8  # a log axis spans at most 1e-8 .. 1


def epsilon_positions(epsilons: list[float]) -> dict[float, float]:
    """x positions: finite epsilons as they are, inf at 4x the largest finite one.

    >>> epsilon_positions([1.0, 10.0, math.inf])
    {1.0: 1.0, 10.0: 10.0, inf: 40.0}
    """
    finite = [e for e in epsilons if math.isfinite(e)]
    far = 4.0 * max(finite) if finite else 1.0
    return {e: (e if math.isfinite(e) else far) for e in epsilons}


def axis_label(plot: Plot) -> str:
    """The y label with the direction: ``FID (lower is better)``.

    >>> axis_label(Plot("fid", "FID"))
    'FID (lower is better)'
    """
    if plot.direction is not None:
        return f"{plot.label} ({plot.direction})"
    return f"{plot.label} ({'higher' if higher_is_better(plot.metric) else 'lower'} is better)"


def plot_headlines(task: TaskSpec, readout: Readout, summary: pd.DataFrame, path: Path) -> None:
    """Save :func:`headline_figure` to ``path``."""
    import matplotlib.pyplot as plt

    fig = headline_figure(task, readout, summary)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def headline_figure(task: TaskSpec, readout: Readout, summary: pd.DataFrame):
    """One panel per plot of ``readout`` that the summary has data for, a shared legend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plots = [p for p in readout.plots if f"{p.metric}_mean" in summary]
    positions = epsilon_positions(sorted(summary["epsilon"].unique()))
    fig, axes = plt.subplots(
        1, max(len(plots), 1), figsize=(5.2 * max(len(plots), 1), 4.4), squeeze=False
    )
    for ax, plot in zip(axes[0], plots, strict=False):
        _panel(ax, plot, summary, positions)
    fig.suptitle(f"{task.name} v{task.version}: headline metrics against epsilon", fontsize=11)
    handles = _legend_handles(summary, any(p.bound for p in plots))
    fig.legend(handles=handles, loc="lower center", ncol=min(len(handles), 4), fontsize=8)
    rows = math.ceil(len(handles) / 4)
    fig.tight_layout(rect=(0, 0.045 * rows + 0.02, 1, 1))
    return fig


def plot_summary(task: TaskSpec, summary: pd.DataFrame, path: Path) -> None:
    """Save the plot of ``task.primary_metric`` (and its bound, if any) to ``path``: the
    leaderboards' plot (its pixels are part of the committed boards).

    Error bars are the metric's reported confidence interval when it has one (mean of the
    CI ends over seeds), else the std over seeds. Lines join finite epsilons only; the
    non-private point stands apart.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    positions = epsilon_positions(sorted(summary["epsilon"].unique()))
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for i, (method, rows) in enumerate(summary.groupby("method", sort=True)):
        xs = np.array([positions[e] for e in rows["epsilon"]])
        finite = np.isfinite(rows["epsilon"].to_numpy())
        y, yerr = _values_and_errors(rows, task.primary_metric)
        if y is not None:
            ax.errorbar(xs, y, yerr=yerr, marker="o", capsize=3, color=f"C{i}", linestyle="none")
            ax.plot(xs[finite], y[finite], color=f"C{i}", label=method)
        bound = f"{task.bound_metric}_mean"
        if task.bound_metric and bound in rows:
            ax.plot(
                xs[finite],
                rows[bound].to_numpy()[finite],
                linestyle="--",
                color=f"C{i}",
                alpha=0.8,
                label=f"{method}: bound",
            )
    _epsilon_axis(ax, positions)
    ax.set_ylabel(task.primary_metric)
    ax.set_title(f"{task.name} v{task.version}")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _panel(ax, plot: Plot, summary: pd.DataFrame, positions: dict[float, float]) -> None:
    floor = _log_floor(plot, summary) if plot.log else None
    groups = list(summary.groupby("method", sort=True))
    for i, (_, rows) in enumerate(groups):
        # methods side by side around each epsilon (a log axis: a factor), not on top
        dodge = 1.0 + 0.04 * (i - (len(groups) - 1) / 2)
        xs = np.array([positions[e] * dodge for e in rows["epsilon"]])
        finite = np.isfinite(rows["epsilon"].to_numpy())
        y, yerr = _values_and_errors(rows, plot.metric)
        above = np.ones(len(y), bool) if floor is None else y > floor
        if floor is not None:
            low = np.maximum(y - yerr[0], floor)
            y = np.maximum(y, floor)
            yerr = np.vstack([y - low, np.maximum(y + yerr[1], floor) - y])
            ax.plot(xs[~above], y[~above], "v", color=f"C{i}", markersize=7)
        ax.errorbar(xs[above], y[above], yerr=yerr[:, above], marker="o", capsize=3,
                    color=f"C{i}", linestyle="none")  # fmt: skip
        ax.errorbar(xs[~above], y[~above], yerr=yerr[:, ~above], capsize=3, color=f"C{i}",
                    linestyle="none")  # fmt: skip
        join = finite & above  # a line through a floored zero would draw a fake slope
        ax.plot(xs[join], y[join], color=f"C{i}")
        bound = f"{plot.bound}_mean"
        if plot.bound and bound in rows:
            values = rows[bound].to_numpy(float)
            keep = finite & (values > floor if floor is not None else True)
            ax.plot(xs[keep], values[keep], linestyle="--", marker="x", color=f"C{i}")
            if floor is not None:
                ax.plot(xs[finite & ~keep], np.full((finite & ~keep).sum(), floor), "v",
                        color=f"C{i}", markerfacecolor="none", markersize=7)  # fmt: skip
    _references(ax, plot, summary)
    _epsilon_axis(ax, positions, "target epsilon (inf = non-private)")
    if floor is not None:
        ax.set_yscale("log")
        ax.set_ylim(floor / 3, 1.5)
        ax.text(0.01, 0.01, f"▼ ▽: 0 or below {fmt(floor)} (drawn at {fmt(floor)})",
                transform=ax.transAxes, fontsize=7, color="0.35")  # fmt: skip
    ax.set_ylabel(axis_label(plot))
    ax.set_title(plot.label, fontsize=10)
    if plot.references:
        ax.legend(fontsize=7, loc="best")


def _legend_handles(summary: pd.DataFrame, bounds: bool) -> list:
    """Methods by colour; measured points and bounds told apart by style."""
    from matplotlib.lines import Line2D

    methods = sorted(summary["method"].unique())
    handles = [Line2D([], [], color=f"C{i}", label=m) for i, m in enumerate(methods)]
    handles.append(
        Line2D([], [], color="0.2", marker="o", label="measured (error bar: 95% CI or std)")
    )
    if bounds:
        handles.append(Line2D([], [], color="0.2", marker="x", linestyle="--", label="upper bound"))
    return handles


def _references(ax, plot: Plot, summary: pd.DataFrame) -> None:
    for style, ref in zip(REFERENCE_STYLES, plot.references, strict=False):
        column = f"{ref.metric}_mean"
        if ref.metric is not None and column not in summary:
            continue
        value = ref.value if ref.metric is None else float(summary[column].mean())
        ax.axhline(value, color="0.45", linestyle=style, linewidth=1.2,
                   label=f"{ref.label} ({fmt(value)})")  # fmt: skip


def _log_floor(plot: Plot, summary: pd.DataFrame) -> float:
    """The bottom of a log axis: the decade of the smallest positive value, at most
    :data:`LOG_DECADES` decades below 1 (a bound of 1e-115 would squash the rest)."""
    columns = [f"{plot.metric}_mean", f"{plot.metric}_ci_low_mean", f"{plot.bound}_mean"]
    values = np.concatenate([summary[c].to_numpy(float) for c in columns if c in summary])
    positive = values[np.isfinite(values) & (values > 0)]
    smallest = positive.min() if positive.size else 1e-3
    return max(10.0**-LOG_DECADES, 10.0 ** math.floor(math.log10(smallest)))


def _values_and_errors(rows: pd.DataFrame, metric: str):
    """Means and (2, n) error bars: from the metric's CI if reported, else the std."""
    if f"{metric}_mean" not in rows:
        return None, None
    y = rows[f"{metric}_mean"].to_numpy(float)
    low, high = f"{metric}_ci_low_mean", f"{metric}_ci_high_mean"
    if low in rows and high in rows:
        return y, np.vstack([y - rows[low].to_numpy(), rows[high].to_numpy() - y]).clip(0)
    std = rows[f"{metric}_std"].fillna(0).to_numpy()
    return y, np.vstack([std, std])


def _epsilon_axis(ax, positions: dict[float, float], label: str = "target epsilon") -> None:
    ax.set_xscale("log")
    ax.set_xticks(list(positions.values()))
    ax.set_xticklabels(["inf" if math.isinf(e) else f"{e:g}" for e in positions])
    ax.minorticks_off()
    ax.set_xlabel(label)
    ax.grid(alpha=0.3)
