"""Ranking submissions per epsilon by the task's primary metric, with CI-based ties.

Each submission is summarised over its seeds with :func:`bench.summary.aggregate`
(mean and population std, as everywhere in the suite). The 95% CI of a row is the
envelope of its seeds' recorded CIs when the metric reports one (e.g. Clopper-Pearson
over attack trials: it covers both the uncertainty within a seed and the spread between
seeds, and stays in the metric's range), else mean +- 1.96 standard errors over seeds.
A row's rank is 1 + the number of rows whose CI lies entirely on the better side of its
own, so rows with overlapping CIs share a rank: a difference the evidence cannot resolve
is not turned into an order.

Example:
    >>> a = Row("a", "small", 1.0, 3, 0.50, 0.01, 0.45, 0.55)
    >>> b = Row("b", "small", 1.0, 3, 0.48, 0.01, 0.44, 0.52)
    >>> c = Row("c", "small", 1.0, 3, 0.20, 0.01, 0.15, 0.25)
    >>> [(r.label, r.rank) for r in rank_rows([c, b, a], higher_is_better=True)]
    [('a', 1), ('b', 1), ('c', 3)]
"""

from __future__ import annotations

import dataclasses
import math
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from bench.leaderboard.rules import MAIN_PROFILES, SMOKE_PROFILE
from bench.leaderboard.submission import Submission
from bench.metrics import higher_is_better
from bench.tasks.base import TaskSpec

Z95 = 1.959963984540054  # two-sided 95% normal quantile
PROFILE_ORDER = (*reversed(MAIN_PROFILES), SMOKE_PROFILE)  # paper, small, then smoke


@dataclass(frozen=True)
class Row:
    """One submission at one epsilon: its primary metric over seeds and its rank."""

    label: str
    profile: str
    epsilon: float
    seeds: int
    mean: float
    std: float
    ci_low: float
    ci_high: float
    bound: float | None = None
    achieved: float | None = None
    rank: int = 0


def board_frame(submissions: list[Submission], task: TaskSpec):
    """All submissions aggregated over seeds: one row per (submission, epsilon).

    The ``method`` column carries the display label (with the profile when a board
    mixes profiles), which is also the legend of the privacy-utility plot.
    """
    import pandas as pd

    from bench.summary import aggregate, records_frame

    metrics = _metrics(task)
    frames = []
    for sub in submissions:
        frame = records_frame(sub.records)
        frame["method"] = display_label(sub, submissions)
        summary = aggregate(frame, metrics).merge(
            _ci_envelope(frame, task.primary_metric), on=["method", "epsilon"], how="left"
        )
        summary["profile"] = sub.profile
        summary["achieved"] = summary["epsilon"].map(_max_achieved(sub.records))
        frames.append(summary)
    return pd.concat(frames, ignore_index=True)


def display_label(submission: Submission, submissions: list[Submission]) -> str:
    """The method's name, with its profile when the board mixes profiles."""
    mixed = len({s.profile for s in submissions}) > 1
    name = submission.card.name
    return f"{name} ({submission.profile})" if mixed else name


def ranked_tables(frame, task: TaskSpec) -> dict[tuple[str, float], list[Row]]:
    """Ranked rows per (profile, epsilon), profiles in board order, epsilons ascending."""
    groups: dict[tuple[str, float], list[Row]] = defaultdict(list)
    for record in frame.to_dict("records"):
        groups[(record["profile"], record["epsilon"])].append(to_row(record, task))
    up = higher_is_better(task.primary_metric)
    order = sorted(groups, key=lambda key: (PROFILE_ORDER.index(key[0]), key[1]))
    return {key: rank_rows(groups[key], higher_is_better=up) for key in order}


def to_row(summary: dict[str, Any], task: TaskSpec) -> Row:
    """A :class:`Row` from one aggregated line, with its 95% CI."""
    metric = task.primary_metric
    mean, std, n = summary[f"{metric}_mean"], summary[f"{metric}_std"], int(summary["seeds"])
    low, high = summary.get("ci_envelope_low"), summary.get("ci_envelope_high")
    if not _finite(low) or not _finite(high):
        # population std -> standard error of the mean: s_{n-1} / sqrt(n) = s_n / sqrt(n - 1)
        half = Z95 * std / math.sqrt(n - 1) if n > 1 and _finite(std) else 0.0
        low, high = mean - half, mean + half
    bound = summary.get(f"{task.bound_metric}_mean") if task.bound_metric else None
    achieved = summary.get("achieved")
    return Row(
        label=summary["method"],
        profile=summary["profile"],
        epsilon=summary["epsilon"],
        seeds=n,
        mean=mean,
        std=std if _finite(std) else 0.0,
        ci_low=low,
        ci_high=high,
        bound=bound if _finite(bound) else None,
        achieved=achieved if _finite(achieved) else None,
    )


def rank_rows(rows: list[Row], *, higher_is_better: bool) -> list[Row]:
    """Rank = 1 + number of rows whose CI is entirely better; sorted by rank, mean, label."""

    def better(a: Row, b: Row) -> bool:
        return a.ci_low > b.ci_high if higher_is_better else a.ci_high < b.ci_low

    ranked = [
        dataclasses.replace(row, rank=1 + sum(better(other, row) for other in rows)) for row in rows
    ]
    sign = -1.0 if higher_is_better else 1.0
    return sorted(ranked, key=lambda r: (r.rank, sign * r.mean, r.label))


def _metrics(task: TaskSpec) -> tuple[str, ...]:
    primary = task.primary_metric
    extra = (task.bound_metric,) if task.bound_metric else ()
    return (primary, f"{primary}_ci_low", f"{primary}_ci_high", *extra)


def _ci_envelope(frame, metric: str):
    """Per (method, epsilon): the lowest recorded CI end and the highest (NaN if none)."""
    low, high = f"{metric}_ci_low", f"{metric}_ci_high"
    grouped = frame.groupby(["method", "epsilon"], sort=True)
    if low not in frame or high not in frame:
        return grouped.size().reset_index()[["method", "epsilon"]]
    envelope = grouped.agg(ci_envelope_low=(low, "min"), ci_envelope_high=(high, "max"))
    return envelope.reset_index()


def _max_achieved(records: list[dict[str, Any]]) -> dict[float, float]:
    """The largest achieved epsilon over the seeds of each epsilon (NaN: non-private)."""
    from bench.privacy.budget import parse_epsilon

    worst: dict[float, float] = {}
    for record in records:
        eps = parse_epsilon(record["epsilon"])
        achieved = record["privacy"].get("achieved_epsilon")
        value = math.nan if achieved is None else float(achieved)
        worst[eps] = value if eps not in worst else max(worst[eps], value)
    return worst


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)
