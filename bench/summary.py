"""Summaries of a run: the table (mean +- std over seeds) and the privacy-utility plot.

A summary is a pure function of the records on disk, so ``bench show`` reproduces
exactly what ``bench run`` printed.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd
from tabulate import tabulate

from bench.privacy.budget import parse_epsilon
from bench.tasks.base import TaskSpec


def records_frame(records: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per record: method, epsilon (float), seed and every metric."""
    rows = [
        {
            "method": r["method"],
            "epsilon": parse_epsilon(r["epsilon"]),
            "seed": r["seed"],
            **r["metrics"],
        }
        for r in records
    ]
    return pd.DataFrame(rows)


def aggregate(frame: pd.DataFrame, metrics: tuple[str, ...]) -> pd.DataFrame:
    """Mean and population std (ddof = 0, as the seed papers) over seeds per (method, eps)."""
    present = [m for m in metrics if m in frame.columns]
    grouped = frame.groupby(["method", "epsilon"], sort=True)
    table = grouped[present].agg(["mean", "std"]) if present else pd.DataFrame()
    for metric in present:  # pandas' std is ddof=1; recompute as ddof=0
        table[(metric, "std")] = grouped[metric].std(ddof=0)
    table.columns = [f"{m}_{stat}" for m, stat in table.columns]
    table.insert(0, "seeds", grouped.size())
    return table.reset_index()


def markdown_table(summary: pd.DataFrame, metrics: tuple[str, ...]) -> str:
    """The summary as a Markdown table with ``mean ± std`` cells."""
    rows = []
    for _, row in summary.iterrows():
        cells = [row["method"], _eps_text(row["epsilon"]), int(row["seeds"])]
        cells += [_mean_std(row, m) for m in metrics]
        rows.append(cells)
    return tabulate(
        rows,
        headers=["method", "epsilon", "seeds", *metrics],
        tablefmt="github",
        disable_numparse=True,
    )


def _mean_std(row: pd.Series, metric: str) -> str:
    mean = row.get(f"{metric}_mean")
    if mean is None or pd.isna(mean):
        return "-"
    std = row.get(f"{metric}_std")
    return f"{mean:.4g} ± {std:.2g}" if row["seeds"] > 1 else f"{mean:.4g}"


def _eps_text(epsilon: float) -> str:
    return "inf (non-private)" if math.isinf(epsilon) else f"{epsilon:g}"


def summary_table(task: TaskSpec, records: list[dict[str, Any]]) -> tuple[pd.DataFrame, str]:
    """The aggregated summary of ``records`` and its Markdown table; writes nothing."""
    frame = records_frame(records)
    metrics = task.summary_metrics
    primary = task.primary_metric
    extra = (primary, f"{primary}_ci_low", f"{primary}_ci_high")
    extra += (task.bound_metric,) if task.bound_metric else ()
    summary = aggregate(frame, tuple(dict.fromkeys(metrics + extra)))
    return summary, markdown_table(summary, metrics)


def write_summary(task: TaskSpec, records: list[dict[str, Any]], out_dir: Path) -> str:
    """Write ``summary.md``, ``summary.csv`` and ``summary.png`` into ``out_dir``.

    Returns:
        The Markdown table (also what the CLI prints).
    """
    summary, text = summary_table(task, records)
    header = f"# {task.name} v{task.version}: {len(records)} records\n\n"
    (out_dir / "summary.md").write_text(header + text + "\n", encoding="utf-8")
    summary.to_csv(out_dir / "summary.csv", index=False)
    from bench.plots import plot_summary

    plot_summary(task, summary, out_dir / "summary.png")
    return text
