"""Summaries of a run: the tables a person reads, the wide CSV, the plots.

A summary is a pure function of the records on disk, so ``bench show`` reproduces
exactly what ``bench run`` printed. ``summary.md`` holds two narrow tables (privacy
per method and epsilon; the task's headline metrics as mean ± std over n seeds) that
fit a 100-column terminal; ``summary.csv`` keeps every summary metric.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pandas as pd

from bench.privacy.budget import parse_epsilon
from bench.readout import Column, Plot, Readout
from bench.summary_format import WIDTH, fit_table, fmt, fmt_bound, fmt_epsilon, fmt_std
from bench.tasks.base import TaskSpec

# per-record privacy figures (from the ledger's privacy block and the task's risk block)
PRIVACY = {
    "achieved_epsilon": ("privacy", "achieved_epsilon"),
    "noise_multiplier": ("privacy", "noise_multiplier"),
    "subject_epsilon": ("privacy", "subject_level", "epsilon"),
    "risk_rero": ("risk", "rero"),
    "risk_p_mse_le": ("risk", "p_mse_le"),
}
PRIVACY_COLUMNS = (
    Column("achieved_epsilon", "ε achieved"),
    Column("noise_multiplier", "σ"),
    Column("subject_epsilon", "ε subject"),
    Column("risk_rero", "ReRo", bound=True),
    Column("risk_p_mse_le", "P[MSE≤η]", bound=True),
)
NOTES = {
    "ε achieved": "the accountant's epsilon after training (worst seed)",
    "σ": "noise multiplier of the (last) DP-SGD run",
    "ε subject": "subject-level epsilon at the same delta (group privacy: {k} records per subject)",
    "ReRo": "bound on an informed adversary identifying a record among 1/κ candidates "
    "(κ = {kappa:g}: {kappa:g} by chance)",
    "P[MSE≤η]": "prior-free bound on reconstructing a record within the task's MSE threshold "
    "(< 1e-12 includes bounds that underflow to 0)",
}


def readout(task: TaskSpec) -> Readout:
    """The task's declared readout, or one built from its summary metrics."""
    if task.readout is not None:
        return task.readout
    columns = tuple(Column(m, m) for m in task.summary_metrics)
    return Readout(
        columns, (Plot(task.primary_metric, task.primary_metric, bound=task.bound_metric),)
    )


def records_frame(records: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per record: method, epsilon (float), seed, every metric and the privacy
    figures of :data:`PRIVACY`."""
    rows = [
        {
            "method": r["method"],
            "epsilon": parse_epsilon(r["epsilon"]),
            "seed": r["seed"],
            **r["metrics"],
            **{name: _dig(r, path) for name, path in PRIVACY.items()},
        }
        for r in records
    ]
    return pd.DataFrame(rows)


def _dig(record: dict, path: tuple[str, ...]):
    value: Any = record
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def aggregate(frame: pd.DataFrame, metrics: tuple[str, ...]) -> pd.DataFrame:
    """Per (method, eps): the number of ``seeds``, mean and population std (ddof = 0, as the seed
    papers) of each metric, and the largest (worst) value of each privacy figure."""
    present = [m for m in metrics if m in frame.columns]
    grouped = frame.groupby(["method", "epsilon"], sort=True)
    table = grouped[present].agg(["mean", "std"]) if present else pd.DataFrame()
    for metric in present:  # pandas' std is ddof=1; recompute as ddof=0
        table[(metric, "std")] = grouped[metric].std(ddof=0)
    table.columns = [f"{m}_{stat}" for m, stat in table.columns]
    for name in PRIVACY:
        table[name] = (
            pd.to_numeric(frame[name], errors="coerce")
            .groupby([frame["method"], frame["epsilon"]])
            .max()
        )
    table.insert(0, "seeds", grouped.size())
    return table.reset_index()


def summary_table(task: TaskSpec, records: list[dict[str, Any]]) -> tuple[pd.DataFrame, str]:
    """The aggregated summary of ``records`` and its Markdown text; writes nothing."""
    view = readout(task)
    wanted = [*task.summary_metrics, task.primary_metric, *(c.metric for c in view.columns)]
    for plot in view.plots:
        wanted += [plot.metric, plot.bound or "", *(r.metric or "" for r in plot.references)]
    for name in list(wanted):
        wanted += [f"{name}_ci_low", f"{name}_ci_high"]
    summary = aggregate(records_frame(records), tuple(m for m in dict.fromkeys(wanted) if m))
    text = "\n\n".join(
        [privacy_header(records), privacy_table(summary, records), metrics_table(summary, view)]
    )
    return summary, text


def privacy_header(records: list[dict[str, Any]]) -> str:
    """One line: the delta(s) and accountant(s) the records were made with."""
    deltas = sorted({r["privacy"].get("delta") for r in records} - {None})
    accountants = sorted({r["privacy"].get("accountant") for r in records} - {None})
    rng = sorted({r["privacy"].get("rng", "seeded") for r in records})
    return textwrap.fill(
        f"Privacy per record (add/remove one record), delta = {', '.join(map(fmt, deltas))}, "
        f"accountant {', '.join(accountants)}, noise RNG {', '.join(rng)}:",
        WIDTH,
    )


def privacy_table(summary: pd.DataFrame, records: list[dict[str, Any]]) -> str:
    """method, target epsilon, then the privacy figures present in the records."""
    columns = [c for c in PRIVACY_COLUMNS if summary[c.metric].notna().any()]
    rows = [
        [row["method"], fmt_epsilon(row["epsilon"])]
        + [(fmt_bound if c.bound else fmt)(row[c.metric]) for c in columns]
        for _, row in summary.iterrows()
    ]
    headers = ["method", "ε", *(c.label for c in columns)]
    table, shown = fit_table(headers, rows, fixed=2)
    return table + "\n\n" + _notes(shown[2:], records)


def _notes(labels: list[str], records: list[dict[str, Any]]) -> str:
    kappa = next((r["risk"].get("kappa") for r in records if r.get("risk")), None)
    subject = next(
        (r["privacy"]["subject_level"] for r in records if "subject_level" in r["privacy"]), {}
    )
    lines = []
    for label in labels:
        note = NOTES.get(label, "")
        if "{kappa" in note and kappa is None:
            continue
        text = f"- {label}: " + note.format(kappa=kappa or 0, k=subject.get("records_per_subject"))
        lines.append(textwrap.fill(text, WIDTH, subsequent_indent="  "))
    return "\n".join(lines)


def metrics_table(summary: pd.DataFrame, view: Readout) -> str:
    """method, epsilon, n seeds and the readout's columns (mean ± std, or a mean CI)."""
    rows = [
        [row["method"], fmt_epsilon(row["epsilon"]), str(int(row["seeds"]))]
        + [_cell(row, column) for column in view.columns]
        for _, row in summary.iterrows()
    ]
    headers = ["method", "ε", "n", *(c.label for c in view.columns)]
    table, shown = fit_table(headers, rows, fixed=3)
    left = [c.metric for c in view.columns if c.label not in shown]
    note = "ε inf: non-private; mean ± std over n seeds; 95% CI: mean of the seeds' ends"
    if left:
        note += f"; also in summary.csv: {', '.join(left)}"
    text = textwrap.fill(f"Results ({note}):", WIDTH) + f"\n\n{table}"
    references = reference_values(summary, view)
    if references:
        line = "References (mean over the records): " + "; ".join(references)
        text += "\n\n" + textwrap.fill(line, WIDTH)
    return text


def reference_values(summary: pd.DataFrame, view: Readout) -> list[str]:
    """The plots' floor/ceiling lines that the records measure, as ``label value``."""
    out = []
    for plot in view.plots:
        for ref in plot.references:
            column = f"{ref.metric}_mean"
            if ref.metric is not None and column in summary:
                out.append(f"{plot.label}: {ref.label} {fmt(summary[column].mean())}")
    return out


def _cell(row: pd.Series, column: Column) -> str:
    if column.ci:
        low, high = (
            row.get(f"{column.metric}_ci_low_mean"),
            row.get(f"{column.metric}_ci_high_mean"),
        )
        if low is None or pd.isna(low):
            return "-"
        return f"[{fmt(low)}, {fmt(high)}]"
    mean = row.get(f"{column.metric}_mean")
    if mean is None or pd.isna(mean):
        return "-"
    if column.bound:
        std = row[f"{column.metric}_std"]
        spread = "" if row["seeds"] == 1 or std == 0 else f" ± {fmt_std(std)}"
        return fmt_bound(mean) + spread
    return (
        f"{fmt(mean)} ± {fmt_std(row[f'{column.metric}_std'])}" if row["seeds"] > 1 else fmt(mean)
    )


def write_summary(task: TaskSpec, records: list[dict[str, Any]], out_dir: Path) -> str:
    """Write ``summary.md``, ``summary.csv`` and ``summary.png`` into ``out_dir``.

    Returns:
        The Markdown text (also what the CLI prints).
    """
    summary, text = summary_table(task, records)
    header = f"# {task.name} v{task.version}: {len(records)} records\n\n"
    (out_dir / "summary.md").write_text(header + text + "\n", encoding="utf-8")
    summary.to_csv(out_dir / "summary.csv", index=False)
    from bench.plots import plot_headlines

    plot_headlines(task, readout(task), summary, out_dir / "summary.png")
    return text
