"""The privacy-utility plot: the primary metric against epsilon, one line per method.

The non-private baseline (epsilon = inf) is drawn at a separate tick labelled "inf"
right of the largest finite epsilon, on a log axis.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from bench.tasks.base import TaskSpec


def epsilon_positions(epsilons: list[float]) -> dict[float, float]:
    """x positions: finite epsilons as they are, inf at 4x the largest finite one.

    >>> epsilon_positions([1.0, 10.0, math.inf])
    {1.0: 1.0, 10.0: 10.0, inf: 40.0}
    """
    finite = [e for e in epsilons if math.isfinite(e)]
    far = 4.0 * max(finite) if finite else 1.0
    return {e: (e if math.isfinite(e) else far) for e in epsilons}


def plot_summary(task: TaskSpec, summary: pd.DataFrame, path: Path) -> None:
    """Save the plot of ``task.primary_metric`` (and its bound, if any) to ``path``.

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


def _values_and_errors(rows: pd.DataFrame, metric: str):
    """Means and (2, n) error bars: from the metric's CI if reported, else the std."""
    if f"{metric}_mean" not in rows:
        return None, None
    y = rows[f"{metric}_mean"].to_numpy()
    low, high = f"{metric}_ci_low_mean", f"{metric}_ci_high_mean"
    if low in rows and high in rows:
        return y, np.vstack([y - rows[low].to_numpy(), rows[high].to_numpy() - y]).clip(0)
    std = rows[f"{metric}_std"].fillna(0).to_numpy()
    return y, np.vstack([std, std])


def _epsilon_axis(ax, positions: dict[float, float]) -> None:
    ax.set_xscale("log")
    ax.set_xticks(list(positions.values()))
    ax.set_xticklabels(["inf" if math.isinf(e) else f"{e:g}" for e in positions])
    ax.minorticks_off()
    ax.set_xlabel("target epsilon")
    ax.grid(alpha=0.3)
