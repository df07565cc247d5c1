"""Ranking: CI-based ties, the metric's direction, CIs from seeds when none is recorded."""

from __future__ import annotations

import pytest

from bench.leaderboard.ranking import Row, rank_rows, to_row
from bench.tasks import get_task


def _row(label, mean, low, high):
    return Row(label, "small", 1.0, 3, mean, 0.0, low, high)


def test_overlapping_cis_share_a_rank_and_separated_ones_do_not():
    rows = [_row("a", 0.5, 0.45, 0.55), _row("b", 0.48, 0.44, 0.52), _row("c", 0.2, 0.1, 0.3)]
    ranked = rank_rows(rows, higher_is_better=True)
    assert [(r.label, r.rank) for r in ranked] == [("a", 1), ("b", 1), ("c", 3)]


def test_lower_is_better_reverses_the_order():
    rows = [_row("a", 0.5, 0.45, 0.55), _row("b", 0.1, 0.05, 0.15)]
    ranked = rank_rows(rows, higher_is_better=False)
    assert [(r.label, r.rank) for r in ranked] == [("b", 1), ("a", 2)]


def test_equal_means_are_ordered_by_name_for_stable_output():
    rows = [_row("z", 0.5, 0.4, 0.6), _row("m", 0.5, 0.4, 0.6)]
    assert [r.label for r in rank_rows(rows, higher_is_better=True)] == ["m", "z"]


def test_ci_from_seeds_when_the_metric_records_none():
    task = get_task("recon-attack")
    summary = {
        "method": "x",
        "profile": "small",
        "epsilon": 1.0,
        "seeds": 3,
        "success_empirical_mean": 0.5,
        "success_empirical_std": 0.1,  # population std; the standard error is 0.1 / sqrt(2)
    }
    row = to_row(summary, task)
    assert row.ci_high - row.mean == pytest.approx(1.959964 * 0.1 / 2**0.5, rel=1e-6)


def test_recorded_ci_envelope_is_used_when_present():
    task = get_task("recon-attack")
    summary = {
        "method": "x",
        "profile": "small",
        "epsilon": 1.0,
        "seeds": 3,
        "success_empirical_mean": 0.5,
        "success_empirical_std": 0.1,
        "ci_envelope_low": 0.3,
        "ci_envelope_high": 0.7,
    }
    row = to_row(summary, task)
    assert (row.ci_low, row.ci_high) == (0.3, 0.7)
