"""The cost of an audit (``pytest benchmarks/test_audit_speed.py --benchmark-only``).

One audit run of the honest ``dp-sgd`` method of ``privacy-audit`` (its ``small`` profile:
256 patches plus the canaries, full-batch DP-SGD, 2 steps), at three canary counts: the
cost per canary sets how many trials -- and so how large an epsilon -- an audit can prove
in a given time. The bound conversions themselves are timed too (they are not free at
hundreds of thousands of trials).
"""

from __future__ import annotations

import numpy as np
import pytest

from bench.audit.bounds import audit_trials
from bench.audit.one_run import audit_one_run


@pytest.fixture(scope="module", autouse=True)
def _controls():
    from bench.tasks import load

    load()
    import controls.methods  # noqa: F401  (the entry point, where not installed yet)


@pytest.mark.parametrize("canaries", [1000, 4000, 8000])
def test_one_audit_run(benchmark, canaries):
    from bench.audit.audit import AuditPlan, audit_method

    plan = AuditPlan(runs=1, canaries=canaries, profile="small")
    benchmark.pedantic(audit_method, ("privacy-audit", "dp-sgd", 1.0, plan), rounds=2)


@pytest.mark.parametrize("trials", [10_000, 100_000])
def test_bounds_from_scores(benchmark, trials):
    rng = np.random.default_rng(0)
    scores = np.concatenate([rng.normal(1, 1, trials), rng.normal(0, 1, trials)])
    included = np.arange(2 * trials) < trials

    def both():
        audit_trials(scores[included], scores[~included], delta=1e-5)
        audit_one_run(scores, included, delta=1e-5)

    benchmark.pedantic(both, rounds=2)
