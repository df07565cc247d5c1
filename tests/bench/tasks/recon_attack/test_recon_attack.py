"""The recon-attack task end to end at the smoke profile: honest, tight, reproducible."""

import math

import numpy as np
import pytest

from bench.api import run
from bench.metrics.stats import clopper_pearson
from bench.records import iter_records
from bench.runner import RunRequest

TRIALS_200 = {
    f"protocol.{name}.trials": "200" for name in ("prior_free", "prior_free_large", "informed")
}


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
    methods = ("prior-free", "prior-free-hidden", "identification")
    result = run(_request(out, methods, overrides=TRIALS_200))
    assert not result.failed, result.failed
    return {(r["method"], r["epsilon"]): r for r in iter_records(out)}


def test_achieved_epsilon_never_exceeds_target(prior_free_records):
    for record in prior_free_records.values():
        privacy = record["privacy"]
        if privacy["target_epsilon"] is not None:
            assert privacy["achieved_epsilon"] <= privacy["target_epsilon"]
            assert privacy["noise_multiplier"] > 0 and privacy["cross_check"]["epsilon"] > 0
            assert privacy["private_data_steps"][0]["protection"].startswith("DP-SGD")
            assert "read back" in privacy["how_obtained"]
        else:
            assert privacy["noise_multiplier"] == 0 and privacy["achieved_epsilon"] is None


def test_every_record_states_the_evaluation_on_the_kept_targets(prior_free_records):
    for record in prior_free_records.values():
        steps = {s["name"]: s for s in record["privacy"]["private_data_steps"]}
        assert "test" in steps["evaluation"]["data"]
        assert ("the informed adversary's prior" in steps) == (record["method"] == "identification")


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


def test_the_metrics_are_recomputed_from_the_per_trial_outputs(prior_free_records):
    for (method, _), record in prior_free_records.items():
        m, out = record["metrics"], record["outputs"]
        assert len(out["success"]) == m["trials"] == 200
        assert np.mean(out["success"]) == pytest.approx(m["success_empirical"])
        if method == "identification":
            assert out["success"] == [
                int(p == t) for p, t in zip(out["pick"], out["truth"], strict=True)
            ]
            continue
        nmse = np.array([math.inf if v is None else v for v in out["nmse"]])
        threshold = record["protocol"][record["config"]["threat_model"]]["nmse_threshold"]
        assert out["success"] == (nmse <= threshold).astype(int).tolist()
        mse = [v for v in out["mse"] if v is not None]
        assert np.mean(mse) == pytest.approx(m["mse_mean"], rel=1e-6, abs=1e-12)
        assert np.mean(out["psnr"]) == pytest.approx(m["psnr_mean"], rel=1e-6)
        assert np.mean(np.array(out["observations"]) > 0) == m["observed_fraction"]


@pytest.mark.slow  # ~12 s; tests/bench/test_reproducibility.py covers it in fresh processes
def test_same_seed_gives_identical_metrics(tmp_path):
    methods = ("prior-free-dpsgd", "inverting-gradients")
    first = run(_request(tmp_path / "a", methods, eps=(10.0,)))
    second = run(_request(tmp_path / "b", methods, eps=(10.0,)))
    assert not first.failed and not second.failed
    records_a, records_b = iter_records(tmp_path / "a"), iter_records(tmp_path / "b")
    assert [r["metrics"] for r in records_a] == [r["metrics"] for r in records_b]
    ig = records_a[0]
    assert ig["method"] == "inverting-gradients" and len(ig["outputs"]["ssim"]) == 2


def test_mammography_targets_work_too(tmp_path):
    result = run(_request(tmp_path, ("prior-free",), eps=(10.0,), dataset="phantom-mammo"))
    assert not result.failed
    (record,) = iter_records(tmp_path)
    assert record["dataset"]["name"] == "phantom-mammo" and record["dataset"]["content_hash"]
