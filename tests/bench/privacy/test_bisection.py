"""The calibration search takes opacus's decisions: same sigma as the plain walk."""

import math
import random

import pytest

from bench.privacy.bisection import BudgetTooLow, opacus_walk, search


def _toy(seed):
    rng = random.Random(seed)
    a, b, c = rng.uniform(0.5, 3), rng.uniform(0.5, 2.5), rng.uniform(0, 0.05)
    return (lambda s: c + a / s**b), rng.choice([0.005, 0.03, 0.5, 1.0, 8.0, 50.0, 1000.0])


@pytest.mark.parametrize("seed", range(40))
def test_search_returns_the_walks_sigma_with_fewer_calls(seed):
    eps, target = _toy(seed)
    calls = []

    def counted(s):
        calls.append(s)
        return eps(s)

    try:
        expected = opacus_walk(eps, target, 0.01)[0]
    except BudgetTooLow:
        with pytest.raises(BudgetTooLow):
            search(counted, target, 0.01)
        return
    assert search(counted, target, 0.01) == expected
    assert expected in calls  # the answer is always computed, never inferred
    assert len(calls) <= 10


def test_a_bad_surrogate_costs_calls_not_correctness():
    eps = lambda s: 2.0 / s**1.5  # noqa: E731
    expected = opacus_walk(eps, 8.0, 0.01)[0]
    assert search(eps, 8.0, 0.01, surrogate=lambda s: 1e6 * math.exp(-s)) == expected


def test_budget_too_low_names_the_last_sigma():
    with pytest.raises(BudgetTooLow) as info:
        search(lambda s: 0.01 + 1 / s, 1e-9, 0.01)
    assert info.value.sigma == 655360


def test_the_anchored_surrogate_leaves_only_the_walks_own_points(monkeypatch):
    # near the answer opacus's walk needs three epsilons no other point implies; with the
    # coarse-PRV anchors the calibration computes those three and no other
    from bench.privacy import accounting
    from bench.privacy.budget import PrivacyBudget

    calls = []
    exact = accounting.compute_epsilon
    monkeypatch.setattr(
        accounting, "compute_epsilon", lambda *a, **k: calls.append(a[0]) or exact(*a, **k)
    )
    sigma, _ = accounting._solve(PrivacyBudget(1.0, 1e-5, "prv"), 1.0, 1)
    assert sigma == 3.7890625  # the board's (test_opacus_light)
    assert len(calls) == 3  # (_solve reads the returned one back from its memo)
