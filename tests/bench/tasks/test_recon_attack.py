"""The recon-attack task end to end at the smoke profile: honest, tight, reproducible."""

import math

import pytest

from bench.api import run
from bench.metrics.stats import clopper_pearson
from bench.records import iter_records
from bench.runner import RunRequest


def _request(out, methods, eps=(1.0, 10.0, 100.0, math.inf), **kw):
    base = dict(
        task="recon-attack",
        epsilons=eps,
        methods=methods,
        seeds=(0,),
        profile="smoke",
        dataset="phantom-cardiac",
        out=out,
    )
    return RunRequest(**{**base, **kw})


@pytest.fixture(scope="module")
def prior_free_records(tmp_path_factory):
    out = tmp_path_factory.mktemp("recon")
    result = run(
        _request(
            out, ("prior-free", "prior-free-hidden", "identification"), overrides={"trials": "200"}
        )
    )
    assert not result.failed, result.failed
    return {(r["method"], r["epsilon"]): r for r in iter_records(out)}


def test_achieved_epsilon_never_exceeds_target(prior_free_records):
    for record in prior_free_records.values():
        privacy = record["privacy"]
        if privacy["target_epsilon"] is not None:
            assert privacy["achieved_epsilon"] <= privacy["target_epsilon"]
            assert privacy["noise_multiplier"] > 0 and privacy["cross_check"]["epsilon"] > 0
            assert privacy["private_data_steps"][0]["protection"].startswith("DP-SGD")
        else:
            assert privacy["noise_multiplier"] == 0 and privacy["achieved_epsilon"] is None
        assert "read back" in privacy["how_obtained"] or privacy["target_epsilon"] is None


def _ci(metrics, confidence=0.999):
    """A wide CI for assertions, so that a fixed seed cannot fail a true property by chance."""
    n = int(metrics["trials"])
    return clopper_pearson(round(metrics["success_empirical"] * n), n, confidence)


def test_empirical_success_never_exceeds_its_bound(prior_free_records):
    for (method, eps), record in prior_free_records.items():
        m = record["metrics"]
        assert _ci(m)[0] <= m["success_bound"] + 1e-12, (method, eps, m)
        assert m["success_empirical_ci_low"] <= m["success_empirical"]  # the reported 95% CI
        assert m["success_empirical"] <= m["success_empirical_ci_high"]


@pytest.mark.parametrize("eps", ["10", "100"])
def test_prior_free_attack_is_tight(prior_free_records, eps):
    # The optimal attack's success sits on its bound: the bound lies inside the CI.
    m = prior_free_records[("prior-free", eps)]["metrics"]
    low, high = _ci(m)
    assert low <= m["success_bound"] <= high
    assert 0.88 <= m["coverage"] <= 1.0  # ~95% of trials above the 5% quantile


def test_attacks_succeed_without_dp_and_fail_under_strong_dp(prior_free_records):
    for method in ("prior-free", "prior-free-hidden", "identification"):
        assert prior_free_records[(method, "inf")]["metrics"]["success_empirical"] == 1.0
        assert prior_free_records[(method, "1")]["metrics"]["success_empirical"] < 0.3


def test_identification_stays_below_rero(prior_free_records):
    for eps in ("1", "10", "100"):
        m = prior_free_records[("identification", eps)]["metrics"]
        assert m["success_bound"] == m["rero_bound"]
        assert m["success_empirical_ci_low"] <= m["rero_bound"]


def test_every_record_states_its_risk(prior_free_records):
    record = prior_free_records[("prior-free", "10")]
    risk = record["risk"]
    assert risk["sigma"] == record["privacy"]["noise_multiplier"]
    assert {"p_mse_le", "rero", "expected_mse", "threat_models", "kappa"} <= set(risk)


def test_same_seed_gives_identical_metrics(tmp_path):
    methods = ("prior-free-dpsgd", "inverting-gradients")
    first = run(_request(tmp_path / "a", methods, eps=(10.0,)))
    second = run(_request(tmp_path / "b", methods, eps=(10.0,)))
    assert not first.failed and not second.failed
    metrics_a = [r["metrics"] for r in iter_records(tmp_path / "a")]
    metrics_b = [r["metrics"] for r in iter_records(tmp_path / "b")]
    assert metrics_a == metrics_b


def test_mammography_targets_work_too(tmp_path):
    result = run(_request(tmp_path, ("prior-free",), eps=(10.0,), dataset="phantom-mammo"))
    assert not result.failed
    (record,) = iter_records(tmp_path)
    assert record["dataset"]["name"] == "phantom-mammo" and record["dataset"]["content_hash"]
