"""Number and table formatting for the summaries a person reads.

Example:
    >>> [fmt(x) for x in (5.638e-306, 6.05e-06, 0.06667, 1.1742, 16.79, 104.49, -8.8, 0.0)]
    ['< 1e-12', '6e-06', '0.0667', '1.17', '16.8', '104.5', '-8.8', '0']
    >>> fmt_epsilon(float("inf")), fmt_epsilon(10.0)
    ('inf', '10')
"""

from __future__ import annotations

import math

from tabulate import tabulate

WIDTH = 100  # the terminal a summary.md must fit
TINY = 1e-12  # below this a probability (or error) is shown as "< 1e-12", not 5.638e-306


def fmt(value) -> str:
    """A number for a person: 3 significant digits, one decimal from 100 on, scientific
    below 1e-3, ``< 1e-12`` for positive values below that, ``-`` for none."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    value = float(value)
    if value == 0:
        return "0"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if 0 < value < TINY:
        return f"< {TINY:g}"
    if abs(value) >= 1e5 or abs(value) < 1e-3:
        return f"{value:.2g}"
    if abs(value) >= 100:
        return f"{value:.1f}"
    return f"{value:.3g}"


def fmt_bound(value) -> str:
    """An upper bound on a probability: 0 is a float underflow, so ``< 1e-12``.

    >>> fmt_bound(0.0), fmt_bound(0.154)
    ('< 1e-12', '0.154')
    """
    if value is not None and float(value) == 0:
        return f"< {TINY:g}"
    return fmt(value)


def fmt_std(value) -> str:
    """A spread: 2 significant digits (``0`` when the seeds agree)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    value = float(value)
    if value == 0:
        return "0"
    return f"< {TINY:g}" if value < TINY else f"{value:.2g}"


def fmt_epsilon(epsilon: float) -> str:
    """A target epsilon; ``inf`` is the non-private baseline."""
    return "inf" if math.isinf(epsilon) else f"{epsilon:g}"


def fit_table(headers: list[str], rows: list[list[str]], fixed: int) -> tuple[str, list[str]]:
    """A GitHub table of the first ``fixed`` columns and as many of the rest, in order, as
    fit in :data:`WIDTH` characters.

    Returns:
        The table and the headers it shows.
    """
    keep = len(headers)
    while True:
        text = tabulate(
            [row[:keep] for row in rows],
            headers=headers[:keep],
            tablefmt="github",
            disable_numparse=True,
        )
        if keep <= fixed or max(map(len, text.splitlines())) <= WIDTH:
            return text, headers[:keep]
        keep -= 1
