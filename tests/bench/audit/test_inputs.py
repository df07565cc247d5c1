"""Black-box input canaries: planted in the held split, scored on the artifact, bounded by
the one-run audit; they catch a leak outside the DP step that gradient canaries miss."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bench.audit.audit import AuditPlan, audit_method
from bench.audit.canary import AuditError
from bench.audit.inputs import InputCanaries, label_margin
from bench.errors import BenchError
from bench.privacy.budget import PrivacyBudget
from bench.privacy.ledger import PrivacyLedger


@pytest.fixture(autouse=True, scope="module")
def _controls_registered():
    """The controls register through the ``bench.methods`` entry point once installed; an
    editable install made before they existed lacks it."""
    from bench.tasks import load

    load()
    import controls.methods  # noqa: F401


def test_planting_appends_exactly_the_included_canaries_in_the_splits_dtypes():
    ledger = PrivacyLedger(PrivacyBudget(1.0, 1e-5, "rdp"), unit="one record")
    data = ledger.hold("private", torch.zeros(3, 2), torch.zeros(3, dtype=torch.int64))
    records = (np.arange(8.0).reshape(4, 2), np.array([1, 0, 1, 1]))
    canaries = InputCanaries(data, records, score=lambda artifact: np.zeros(4))
    canaries.plant(np.array([True, False, False, True]))
    images, labels = data._content
    assert len(data) == 5 and labels.dtype == torch.int64 and images.dtype == torch.float32
    assert images[3:].tolist() == [[0.0, 1.0], [6.0, 7.0]] and labels[3:].tolist() == [1, 1]


def test_scores_must_be_one_finite_value_per_canary():
    canaries = InputCanaries(None, (np.zeros(3),), score=lambda artifact: [0.0, np.nan, 1.0])
    with pytest.raises(BenchError, match="3 finite values"):
        canaries.scores(object())


def test_the_margin_is_the_log_odds_of_the_canarys_own_label_and_stays_finite():
    m = label_margin([0.5, 1.0, 0.0], [1, 1, 1])
    assert m[0] == 0 and np.isfinite(m).all() and m[1] > 27 and m[2] < -27


# The small profile's controls train full-batch (q = 1, one step): each run's calibration
# is a fraction of a second, where the smoke profile's q changes with every run's canaries.
SMALL = {"profile": "small"}


@pytest.mark.slow  # ~10 s; the leaky-map test runs the input audit by default
def test_honest_dp_sgd_stays_below_its_claim_under_input_canaries():
    plan = AuditPlan(runs=2, canaries=100, canary="input", **SMALL)
    result = audit_method("privacy-audit", "dp-sgd", 1.0, plan)
    assert result.canary == "input" and result.epsilon_trials is None
    assert result.canaries == 200 and result.observed_rate is None
    assert 0 < result.claimed_epsilon <= 1.0 and not result.exceeds_claim


def test_a_leak_outside_the_dp_step_passes_gradient_canaries_and_is_caught_by_input_ones():
    """broken-leaky-map trains with honest DP-SGD, so the white-box audit of its DP step
    finds nothing; its model recalls the records its "per-record map" kept, so every
    included input canary is answered with its (flipped) label."""
    gradient = audit_method("privacy-audit", "broken-leaky-map", 1.0, AuditPlan(1, 200, **SMALL))
    assert not gradient.exceeds_claim
    plan = AuditPlan(1, 200, canary="input", **SMALL)
    inputs = audit_method("privacy-audit", "broken-leaky-map", 1.0, plan)
    assert inputs.exceeds_claim and inputs.claimed_epsilon <= 1.0
    assert inputs.one_run["correct"] == inputs.one_run["guesses"]  # every guess right


def test_a_task_without_input_canaries_is_refused_in_one_line():
    with pytest.raises(AuditError, match="offers no input canaries"):
        audit_method("recon-attack", "prior-free-dpsgd", 1.0, AuditPlan(1, 8, canary="input"))


def test_an_unknown_canary_kind_is_refused():
    with pytest.raises(BenchError, match="canary kind 'pixel'"):
        AuditPlan(canary="pixel").check()


@pytest.mark.slow  # about a minute: a smoke mammo-cls cell (SimCLR, ViT) under the audit
def test_mammo_cls_offers_flipped_public_patches_and_its_reference_stays_below_its_claim():
    result = audit_method("mammo-cls", "dp-vit-real", 1.0, AuditPlan(1, 100, canary="input"))
    assert result.canaries == 100 and 0 < result.claimed_epsilon <= 1.0
    assert not result.exceeds_claim
