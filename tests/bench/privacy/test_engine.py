"""The training engine: calibrated, Poisson-sampled, clipped DP-SGD with honest accounting."""

import math

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from bench.privacy.budget import PrivacyBudget
from bench.privacy.engine import make_private
from bench.privacy.report import PrivateStep


def _setup(seed=0, n=256, batch=32):
    torch.manual_seed(seed)
    data = TensorDataset(torch.randn(n, 8), torch.randint(0, 2, (n,)))
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 2))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    return model, optimizer, DataLoader(data, batch_size=batch)


def _train(training, epochs):
    loss_fn = nn.CrossEntropyLoss()
    for _ in range(epochs):
        for x, y in training.data_loader:
            training.optimizer.zero_grad()
            loss_fn(training.module(x), y).backward()
            training.optimizer.step()


@pytest.mark.parametrize("accountant", ["prv", "rdp"])
def test_achieved_epsilon_is_read_back_and_within_target(accountant):
    model, opt, loader = _setup()
    training = make_private(
        model,
        opt,
        loader,
        PrivacyBudget(2.0, 1e-5, accountant),
        epochs=3,
        max_grad_norm=1.0,
        generator=torch.Generator().manual_seed(0),
    )
    assert training.achieved_epsilon() == 0.0 and training.steps_taken() == 0
    _train(training, epochs=3)
    assert training.steps_taken() == 3 * len(loader)
    achieved = training.achieved_epsilon()
    assert 1.9 <= achieved <= 2.0
    block = training.privacy([PrivateStep("classifier", "private split", "DP-SGD")], "one image")
    assert block["achieved_epsilon"] == achieved and block["sampling"] == "poisson"
    assert block["sample_rate"] == pytest.approx(1 / len(loader))


def test_non_private_budget_leaves_objects_unwrapped():
    model, opt, loader = _setup()
    training = make_private(
        model, opt, loader, PrivacyBudget(math.inf, 1e-5), epochs=1, max_grad_norm=1.0
    )
    assert training.module is model and training.engine is None
    assert training.privacy([], "one image")["achieved_epsilon"] is None


def test_one_dp_step_changes_every_parameter():
    model, opt, loader = _setup()
    before = [p.detach().clone() for p in model.parameters()]
    training = make_private(
        model,
        opt,
        loader,
        PrivacyBudget(5.0, 1e-5),
        epochs=1,
        max_grad_norm=1.0,
        generator=torch.Generator().manual_seed(0),
    )
    x, y = next(iter(training.data_loader))
    nn.CrossEntropyLoss()(training.module(x), y).backward()
    training.optimizer.step()
    after = list(model.parameters())
    assert all(not torch.equal(b, a) for b, a in zip(before, after, strict=True))


def test_same_seed_same_weights():
    weights = []
    for _ in range(2):
        model, opt, loader = _setup()
        training = make_private(
            model,
            opt,
            loader,
            PrivacyBudget(5.0, 1e-5),
            epochs=1,
            max_grad_norm=1.0,
            generator=torch.Generator().manual_seed(1),
        )
        _train(training, epochs=1)
        weights.append(torch.cat([p.detach().flatten() for p in model.parameters()]))
    assert torch.equal(weights[0], weights[1])
