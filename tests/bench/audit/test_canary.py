"""The auditing ledger: canaries planted in a method's own DP-SGD run and read back."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from bench.audit.audit import AuditPlan, audit_method
from bench.audit.canary import AuditError, AuditLedger, llr_scores
from bench.privacy.budget import PrivacyBudget


@pytest.fixture(autouse=True, scope="module")
def _controls_registered():
    """The controls register through the ``bench.methods`` entry point once installed; an
    editable install made before they existed lacks it."""
    from bench.tasks import load

    load()
    import controls.methods  # noqa: F401


def _ledger(eps=1.0, canaries=40):
    ledger = AuditLedger(PrivacyBudget(eps, 1e-5, "rdp"), unit="one record", canaries=canaries)
    data = ledger.hold("private", torch.randn(32, 64), torch.randint(0, 2, (32,)))
    return ledger, data


def _train(ledger, data, *, noise=True, batch_size=1024, epochs=2):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(64, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
    training = ledger.train(model, torch.optim.SGD(model.parameters(), lr=0.1), data,
                            batch_size=batch_size, epochs=epochs, max_grad_norm=1.0)  # fmt: skip
    if not noise:
        training.optimizer.noise_multiplier = 0.0
    for _ in range(epochs):
        for x, y in training.data_loader:
            training.optimizer.zero_grad()
            torch.nn.functional.cross_entropy(training.module(x), y).backward()
            training.optimizer.step()
    return training


def test_without_noise_a_clipped_canary_reads_exactly_one_and_an_absent_one_zero():
    """Full batch (q = 1), noise removed: every included canary shows its clipped value 1
    in clipped-canary units, every other canary 0 -- the units and the clipping checked."""
    ledger, data = _ledger()
    _train(ledger, data, noise=False)
    (run,) = ledger.audited
    released = np.stack(run.released, axis=1)
    assert released.shape == (run.canaries, 2)
    assert np.allclose(released[run.included], 1.0, atol=1e-5)
    assert np.allclose(released[~run.included], 0.0, atol=1e-6)
    assert run.observed_rate() == 1.0 and run.sample_rate == 1.0


def test_with_noise_the_released_values_have_the_calibrated_spread():
    ledger, data = _ledger(eps=1.0, canaries=40)
    _train(ledger, data)
    (run,) = ledger.audited
    out = np.stack(run.released, axis=1)[~run.included]
    assert 0.6 * run.sigma < out.std() < 1.5 * run.sigma


def test_poisson_sampling_shows_in_the_observed_rate():
    ledger, data = _ledger(canaries=60)
    _train(ledger, data, batch_size=8, epochs=1)
    (run,) = ledger.audited
    assert run.sample_rate < 0.5
    assert abs(run.observed_rate() - run.sample_rate) < 0.2


def test_the_log_likelihood_ratio_is_the_gaussian_one_at_full_batch():
    y = np.array([[0.3, 1.2]])
    assert llr_scores(y, 2.0, 1.0)[0] == pytest.approx(((0.3 - 0.5) + (1.2 - 0.5)) / 4)
    assert llr_scores(y, 2.0, 0.1)[0] < llr_scores(np.array([[2.0, 2.0]]), 2.0, 0.1)[0]


def test_an_audit_needs_a_private_run():
    ledger = AuditLedger(PrivacyBudget(math.inf, 1e-5, "rdp"), unit="one record")
    data = ledger.hold("private", torch.randn(8, 4), torch.zeros(8, dtype=torch.long))
    model = torch.nn.Linear(4, 2)
    with pytest.raises(AuditError):
        ledger.train(model, torch.optim.SGD(model.parameters(), lr=0.1), data,
                     batch_size=4, epochs=1, max_grad_norm=1.0)  # fmt: skip


def test_an_honest_method_stays_below_its_claim_and_no_noise_is_caught():
    plan = AuditPlan(runs=1, canaries=200)
    honest = audit_method("privacy-audit", "dp-sgd", 1.0, plan)
    broken = audit_method("privacy-audit", "broken-no-noise", 1.0, plan)
    assert not honest.exceeds_claim and honest.claimed_epsilon <= 1.0
    assert broken.exceeds_claim and broken.epsilon_lower_bound > 2.0
    assert broken.as_dict()["exceeds_claim"] is True


def test_a_batch_read_at_once_notes_its_indices_and_serves_record_0_to_the_canaries():
    from bench.audit.canary import LoggedRecords

    base = torch.utils.data.TensorDataset(torch.arange(4.0), torch.arange(4))
    records = LoggedRecords(base, canary_copies=3)
    batch = records.__getitems__([5, 1, 4, 6])
    assert len(records) == 7 and records.take() == [5, 1, 4, 6]
    assert [float(x) for x, _ in batch] == [0.0, 1.0, 0.0, 0.0]
    assert float(records[2][0]) == 2.0 and records.take() == [2]


def test_the_every_step_score_is_the_sum_and_equals_the_claimed_one_at_q_1():
    from bench.audit.canary import CanaryRun, LoggedRecords

    run = CanaryRun("t", np.array([True, False]), [], LoggedRecords((), 0), 2.0, 0.1, 1.0)
    run.released = [np.array([1.0, 0.2]), np.array([1.4, -0.3])]
    assert run.every_step_scores() == pytest.approx([(0.5 + 0.9) / 4, (-0.3 - 0.8) / 4])
    run.sample_rate = 1.0
    assert run.scores() == pytest.approx(run.every_step_scores())


def test_an_audits_ledgers_share_the_accountant_calls_of_equal_histories(monkeypatch):
    from bench.audit.canary import AuditLedger
    from bench.privacy import ledger as module
    from bench.privacy.budget import PrivacyBudget

    original, computed = module.epsilon_of_history, []

    def counted(history, delta, accountant):
        computed.append(tuple(history))
        return original(history, delta, accountant)

    monkeypatch.setattr(module, "epsilon_of_history", counted)
    memo, budget = {}, PrivacyBudget(10.0, 1e-5, "rdp")
    calls = [
        AuditLedger(budget, unit="one record", accounting_memo=memo)._account(history)[0]
        for history in ([(1.0, 1.0, 2)], [(1.0, 1.0, 2)], [(2.0, 1.0, 2)])
    ]
    assert calls[0] == calls[1] == original([(1.0, 1.0, 2)], 1e-5, "rdp") > calls[2]
    assert computed == [((1.0, 1.0, 2),), ((2.0, 1.0, 2),)]  # the repeated history: once


def test_an_audit_trains_with_a_cells_thread_count(monkeypatch):
    """A cell of bench run trains with one CPU thread, and the public parts' cache keys
    hold the thread count: an audit run does the same, so it reuses a board's parts."""
    import controls.training as training

    seen, train = [], training._train

    def spy(ctx, view, ledger, bug=None):
        seen.append(torch.get_num_threads())
        return train(ctx, view, ledger, bug)

    monkeypatch.setattr(training, "_train", spy)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        audit_method("privacy-audit", "dp-sgd", 1.0, AuditPlan(1, 50, profile="small"))
        assert seen == [1] and torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
