"""The recon-attack release under the audit: canaries planted in the task's own opacus
step (its Poisson sampling, clipping and noise) and read back from what it released."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bench.audit.canary import AuditLedger
from bench.privacy.budget import PrivacyBudget
from bench.tasks.recon_attack.release import DPStep, release_records


def _release(noise: bool, canaries: int = 400, steps: int = 3, q: float = 1.0):
    """The release's step and batches of :mod:`bench.tasks.recon_attack.release` under an
    auditing ledger (q = 1: a fast calibration; q < 1 is the slow test's)."""
    ledger = AuditLedger(PrivacyBudget(1.0, 1e-5, "rdp"), unit="one image", canaries=canaries)
    base = torch.randn(1, 4)
    mech = ledger.calibrated(
        "release", ledger.hold("targets", base), sample_rate=q, steps=steps, max_grad_norm=1.0
    )
    model = torch.nn.Linear(canaries, 1, bias=False)  # the canaries' tensor
    step = DPStep(model, lambda out, _: out.sum(), noise_multiplier=mech.sigma,
                  generator=torch.Generator().manual_seed(0), accountant=mech.accountant,
                  sample_rate=q)  # fmt: skip
    if not noise:
        step.optimizer.noise_multiplier = 0.0
    records = ledger.watch_release(step.optimizer, torch.zeros(1, canaries), mech, name="r")
    release_records(step, records, input_shape=(canaries,), sample_rate=q, steps=steps,
                    generator=torch.Generator().manual_seed(1))  # fmt: skip
    step.close()
    (run,) = ledger.audited
    return ledger, run


def test_canaries_reach_the_release_and_are_read_exactly():
    _, run = _release(noise=False)
    released = np.stack(run.released, axis=1)  # canaries x steps, in clipped-canary units
    assert released.shape == (run.canaries, 3)
    assert set(np.round(released, 5).ravel()) <= {0.0, 1.0}  # clipped, unnoised: 1 or 0
    assert (released.sum(axis=1) == run.appearances).all()  # the release's own batches
    assert not released[~run.included].any()  # an excluded canary is never in a batch
    assert np.allclose(released[run.included], 1.0) and run.observed_rate() == 1.0  # q = 1


def test_honest_release_scores_and_claim():
    ledger, run = _release(noise=True)
    assert len(run.released) == 3 and sum(s for *_, s in ledger._runs[0].history()) == 3
    out = np.stack(run.released, axis=1)[~run.included]  # the release's noise alone
    assert abs(out.std() / run.sigma - 1) < 0.1 and abs(out.mean()) < 0.2 * run.sigma
    assert np.isfinite(run.scores()).all()
    assert ledger.privacy_block()["achieved_epsilon"] <= 1.0 + 1e-6


@pytest.mark.slow  # ~10 s: the task's calibration and claim
def test_recon_attack_release_audited_below_claim():
    from bench.audit.audit import AuditPlan, audit_method
    from bench.tasks import load

    load()
    result = audit_method("recon-attack", "prior-free-dpsgd", 10.0, AuditPlan(runs=1))
    assert result.canaries == 1000 and result.steps == 30 and result.sample_rate == 0.1
    assert 0.05 < result.observed_rate < 0.15
    assert not result.exceeds_claim


@pytest.mark.slow  # ~10 s
def test_recon_attack_release_without_noise_is_caught(monkeypatch):
    """The audit reads the task's release: a release step whose noise routine adds none
    (the optimizer keeps the calibrated sigma, so the ledger certifies it) is caught."""
    from bench.audit.audit import AuditPlan, audit_method
    from bench.tasks import load

    load()
    watch = AuditLedger.watch_release

    def noiseless(self, optimizer, base, mechanism, *, name):
        def add_no_noise():
            for p in optimizer.params:
                p.grad = p.summed_grad.view_as(p).clone()

        optimizer.add_noise = add_no_noise
        return watch(self, optimizer, base, mechanism, name=name)

    monkeypatch.setattr(AuditLedger, "watch_release", noiseless)
    result = audit_method("recon-attack", "prior-free-dpsgd", 1.0, AuditPlan(runs=1))
    assert result.exceeds_claim and result.epsilon_lower_bound > 3


def test_a_labelled_release_reads_image_label_pairs_and_its_canaries_exactly():
    """inverting-gradients' threat model: records are (image, label) pairs, the loss uses
    the labels; the canaries (copies of record 0, pair included) are read back exactly."""
    ledger = AuditLedger(PrivacyBudget(1.0, 1e-5, "rdp"), unit="one image", canaries=300)
    pair = [(torch.zeros(300), torch.tensor(1))]
    mech = ledger.calibrated("release", ledger.hold("targets", torch.zeros(1, 300)),
                             sample_rate=1.0, steps=2, max_grad_norm=1.0)  # fmt: skip
    model = torch.nn.Linear(300, 2, bias=False)
    seen = []

    def loss(out, labels):
        seen.append(labels.tolist())
        return torch.nn.functional.cross_entropy(out, labels, reduction="sum")

    step = DPStep(model, loss, noise_multiplier=mech.sigma, accountant=mech.accountant,
                  generator=torch.Generator().manual_seed(0), sample_rate=1.0)  # fmt: skip
    step.optimizer.noise_multiplier = 0.0  # read the canaries exactly
    records = ledger.watch_release(step.optimizer, pair, mech, name="r")
    release_records(step, records, input_shape=(300,), sample_rate=1.0, steps=2,
                    generator=torch.Generator().manual_seed(1), labelled=True)  # fmt: skip
    step.close()
    (run,) = ledger.audited
    released = np.stack(run.released, axis=1)
    assert seen and all(set(s) == {1} for s in seen)  # every row carried record 0's label
    assert np.allclose(released[run.included], 1.0) and not released[~run.included].any()
