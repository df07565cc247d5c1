"""The privacy-utility plot: the primary metric against epsilon, one line per method.

The non-private baseline (epsilon = inf) is drawn at a separate tick labelled "inf"
right of the largest finite epsilon, on a log axis.
"""

from __future__ import annotations

import math
from pathlib import Path

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
    """Save the plot of ``task.primary_metric`` (and its bound, if any) to ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    positions = epsilon_positions(sorted(summary["epsilon"].unique()))
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for i, (method, rows) in enumerate(summary.groupby("method", sort=True)):
        xs = [positions[e] for e in rows["epsilon"]]
        colour = f"C{i}"
        metric = task.primary_metric
        if f"{metric}_mean" in rows:
            ax.errorbar(
                xs,
                rows[f"{metric}_mean"],
                yerr=rows[f"{metric}_std"],
                marker="o",
                capsize=3,
                color=colour,
                label=f"{method}",
            )
        bound = f"{task.bound_metric}_mean"
        if task.bound_metric and bound in rows:
            ax.plot(
                xs, rows[bound], linestyle="--", color=colour, alpha=0.8, label=f"{method}: bound"
            )
    _epsilon_axis(ax, positions)
    ax.set_ylabel(task.primary_metric)
    ax.set_title(f"{task.name} v{task.version}")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _epsilon_axis(ax, positions: dict[float, float]) -> None:
    ax.set_xscale("log")
    ax.set_xticks(list(positions.values()))
    ax.set_xticklabels(["inf" if math.isinf(e) else f"{e:g}" for e in positions])
    ax.minorticks_off()
    ax.set_xlabel("target epsilon")
    ax.grid(alpha=0.3)
