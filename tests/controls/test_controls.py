"""The negative controls: each passes the ledger's own checks (its claim is certified)
and is caught by the audit; the honest reference is not."""

from __future__ import annotations

import pytest

from bench.audit.audit import AuditPlan, audit_method
from bench.tasks import get_task, methods_of

BROKEN = ("broken-no-noise", "broken-half-noise", "broken-unclipped-layer", "broken-full-batch")


@pytest.fixture(autouse=True, scope="module")
def _controls_registered():
    """The controls register through the ``bench.methods`` entry point once installed; an
    editable install made before they existed lacks it."""
    from bench.tasks import load

    load()
    import controls.methods  # noqa: F401


def test_every_control_is_registered_documented_and_a_default_of_the_task():
    names = {m.name: m for m in methods_of("privacy-audit")}
    assert set(BROKEN) | {"dp-sgd"} <= set(names)
    assert all("DELIBERATELY WRONG" in names[b].description for b in BROKEN)
    assert set(get_task("privacy-audit").default_methods) == set(BROKEN) | {"dp-sgd"}
    # not a default: the task's white-box audit cannot see a leak outside the DP step;
    # input canaries catch it (tests/bench/audit/test_inputs.py)
    assert "DELIBERATELY WRONG" in names["broken-leaky-map"].description


@pytest.mark.slow  # 9 s; tests/bench/audit/test_canary.py catches no-noise by default
def test_an_unclipped_layer_is_caught_while_the_ledger_certifies_its_claim():
    result = audit_method("privacy-audit", "broken-unclipped-layer", 1.0, AuditPlan(1, 200))
    assert result.claimed_epsilon <= 1.0  # the ledger saw nothing wrong
    assert result.exceeds_claim


def test_the_configs_hold_their_canaries_and_full_batch_claims_q_about_1_20():
    """The first layer (16 x 16 pixels x hidden[0]) holds the canaries of a run; with the
    small profile's 256 records and the about 1,000 included of 2,000 canaries,
    broken-full-batch's batches of 64 claim q = 1/20 (20 steps) and train on all."""
    import math

    from bench.tasks import get_method

    pixels = 16 * 16
    for name in ("dp-sgd", *BROKEN):
        config = get_method("privacy-audit", name).configs["small"]
        holds = pixels * config.hidden[0]
        if name == "broken-full-batch":
            assert holds >= 2000 and math.ceil((256 + 1000) / config.batch_size) == 20
        else:
            assert holds >= 8000 and config.batch_size >= 256 + 8192 and config.epochs == 1


# the plans of docs/privacy-audit.md: runs x canaries per run that catch each control
PLANS = {
    1.0: {"broken-no-noise": (4, 8000), "broken-half-noise": (34, 8000),
          "broken-unclipped-layer": (4, 8000), "broken-full-batch": (4, 2000)},
    10.0: {"broken-no-noise": (60, 8000), "broken-half-noise": (500, 8000),
           "broken-unclipped-layer": (60, 8000), "broken-full-batch": (180, 2000)},
}  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize("eps", [1.0, 10.0])
@pytest.mark.parametrize("method", BROKEN)
def test_every_control_is_caught(method, eps):
    """Up to minutes of CPU each (broken-half-noise at eps 10: 4,000,000 canaries, about 7
    minutes by the measured 0.1 ms a canary); hours beside other jobs."""
    runs, canaries = PLANS[eps][method]
    result = audit_method("privacy-audit", method, eps, AuditPlan(runs, canaries, profile="small"))
    assert result.claimed_epsilon <= eps and result.exceeds_claim
