"""The privacy ledger: calibrated DP-SGD, honest accounting, composition, recorded accesses."""

import math

import pytest
import torch
from torch import nn

from bench.errors import BenchError
from bench.privacy.accounting import calibrate, epsilon_of_history
from bench.privacy.budget import PrivacyBudget
from bench.privacy.ledger import PrivacyLedger, PrivacyViolation


def _ledger(eps=2.0, accountant="prv"):
    return PrivacyLedger(PrivacyBudget(eps, 1e-5, accountant), unit="one row")


def _model(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 2))


def _held(ledger, n=256, seed=0):
    g = torch.Generator().manual_seed(seed)
    return ledger.hold("private split", torch.randn(n, 8, generator=g), torch.randint(0, 2, (n,)))


def _train(training, epochs, reduction="mean"):
    loss_fn = nn.CrossEntropyLoss(reduction=reduction)
    for _ in range(epochs):
        for x, y in training.data_loader:
            training.optimizer.zero_grad()
            loss_fn(training.module(x), y).backward()
            training.optimizer.step()


def _dp(ledger, data, model=None, epochs=3, **kw):
    model = model or _model()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    return ledger.train(
        model, opt, data, batch_size=32, epochs=epochs, max_grad_norm=1.0,
        noise_generator=torch.Generator().manual_seed(0), **kw,
    )  # fmt: skip


@pytest.mark.parametrize("accountant", ["prv", "rdp"])
def test_sigma_comes_from_the_ledger_and_epsilon_is_read_back(accountant):
    ledger = _ledger(accountant=accountant)
    training = _dp(ledger, _held(ledger))
    _train(training, epochs=3)
    block = ledger.privacy_block()
    q, steps = 1 / 8, 3 * 8
    assert block["noise_multiplier"] == calibrate(ledger.budget, q, steps).sigma
    assert block["sample_rate"] == pytest.approx(q) and block["steps"] == steps
    assert 1.9 <= block["achieved_epsilon"] <= 2.0 and block["sampling"] == "poisson"
    assert block["private_data_steps"][0]["name"] == "training"
    assert "DP-SGD" in block["private_data_steps"][0]["protection"]


def test_the_evaluation_access_is_listed():
    ledger = _ledger()
    _train(_dp(ledger, _held(ledger)), epochs=3)
    ledger.record_evaluation("held-out private test split")
    names = [s["name"] for s in ledger.privacy_block()["private_data_steps"]]
    assert names == ["training", "evaluation"]


def test_two_runs_share_the_budget_and_are_composed():
    ledger = _ledger(eps=4.0)
    data = _held(ledger)
    first = _dp(ledger, data, name="gan", share=0.5)
    _train(first, epochs=3)
    with pytest.raises(BenchError, match=r"0\.5 is left"):
        _dp(ledger, data, share=0.75)
    second = _dp(ledger, data, name="classifier", share=0.5)
    _train(second, epochs=3)
    block = ledger.privacy_block()
    assert [r["name"] for r in block["runs"]] == ["gan", "classifier"]
    history = [(r["noise_multiplier"], r["sample_rate"], r["steps"]) for r in block["runs"]]
    assert block["achieved_epsilon"] == epsilon_of_history(history, 1e-5, "prv") <= 4.0
    assert first.calibration.budget.epsilon == 2.0 and first.calibration.budget.delta == 5e-6


def test_non_private_budget_leaves_objects_unwrapped():
    ledger = PrivacyLedger(PrivacyBudget(math.inf, 1e-5), unit="one row")
    model = _model()
    training = _dp(ledger, _held(ledger), model=model)
    assert training.module is model and not training.is_private
    block = ledger.privacy_block()
    assert block["achieved_epsilon"] is None and block["target_epsilon"] is None
    assert block["private_data_steps"][0]["protection"].startswith("none")


def test_an_unprotected_read_voids_a_finite_epsilon():
    ledger = _ledger()
    x, _ = _held(ledger).unprotected("a non-private baseline")
    assert x.shape == (256, 8)
    with pytest.raises(PrivacyViolation, match="without protection"):
        ledger.privacy_block()
    free = PrivacyLedger(PrivacyBudget(math.inf, 1e-5), unit="one row")
    _held(free).unprotected("non-private baseline")
    steps = free.privacy_block()["private_data_steps"]
    assert steps[0]["protection"] == "none: non-private baseline"


def test_no_run_means_epsilon_zero_and_foreign_data_is_refused():
    ledger = _ledger()
    assert ledger.privacy_block()["achieved_epsilon"] == 0.0
    other = _ledger()
    with pytest.raises(BenchError, match="this cell's ledger"):
        _dp(ledger, _held(other))


def test_private_data_cannot_be_read_as_an_array():
    data = _held(_ledger())
    assert len(data) == 256 and "256 records" in repr(data)
    with pytest.raises(TypeError):
        iter(data)
    with pytest.raises(TypeError):
        data[0]


def test_map_and_union_stay_private_and_are_described():
    ledger = _ledger()
    data = _held(ledger).map(lambda x, y: (x * 2, y), "scaled by a public constant")
    data = data.with_public(torch.zeros(32, 8), torch.zeros(32, dtype=torch.long), what="public")
    assert len(data) == 288
    _train(_dp(ledger, data), epochs=1)
    step = ledger.privacy_block()["private_data_steps"][0]
    assert "scaled by a public constant" in step["data"] and "+ public" in step["data"]


def test_one_dp_step_changes_every_parameter():
    ledger = _ledger(eps=5.0)
    model = _model()
    before = [p.detach().clone() for p in model.parameters()]
    training = _dp(ledger, _held(ledger), model=model, epochs=1)
    x, y = next(iter(training.data_loader))
    nn.CrossEntropyLoss()(training.module(x), y).backward()
    training.optimizer.step()
    assert all(not torch.equal(b, a) for b, a in zip(before, model.parameters(), strict=True))


@pytest.mark.parametrize("mode", ["hooks", "fast-hooks", "functorch", "ew"])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_per_sample_gradients_equal_a_per_example_loop(mode, reduction):
    """The oracle of privacy rule 3, for every grad-sample mode the ledger exposes."""
    ledger = _ledger(eps=5.0)
    model = _model()
    reference = _model()
    training = _dp(ledger, _held(ledger), model=model, grad_sample_mode=mode,
                   loss_reduction=reduction)  # fmt: skip
    x, y = next(iter(training.data_loader))
    nn.CrossEntropyLoss(reduction=reduction)(training.module(x), y).backward()
    for i in range(len(x)):
        reference.zero_grad()
        nn.CrossEntropyLoss()(reference(x[i : i + 1]), y[i : i + 1]).backward()
        for p, q in zip(model.parameters(), reference.parameters(), strict=True):
            torch.testing.assert_close(p.grad_sample[i], q.grad, atol=1e-5, rtol=1e-4)
