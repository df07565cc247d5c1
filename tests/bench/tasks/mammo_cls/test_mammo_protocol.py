"""What the mammo-cls protocol guarantees whatever the method: the view holds no test data,
an unprotected read never yields a finite-epsilon record, the ledger gives the budget."""

import math
from dataclasses import dataclass

import numpy as np
import pytest
import torch

import bench.runner
from bench.api import run
from bench.privacy.accounting import calibrate
from bench.privacy.budget import PrivacyBudget
from bench.records import iter_records
from bench.runner import RunRequest
from bench.tasks.base import MethodSpec
from bench.tasks.mammo_cls.api import MammoArtifact, MammoView


@dataclass(frozen=True)
class Tiny:
    epochs: int = 2
    batch_size: int = 16


class Linear:
    def __init__(self, model):
        self.model = model

    def scores(self, images):
        with torch.no_grad():
            logits = self.model(torch.as_tensor(images).flatten(1))
        return torch.softmax(logits.double(), 1)[:, 1].numpy()


def _model(ctx):
    torch.manual_seed(0)
    return torch.nn.Linear(ctx.settings.image_size**2, 2)


def _through_the_ledger(ctx, view, ledger):
    assert isinstance(view, MammoView) and not hasattr(view, "test")
    model = _model(ctx)
    data = view.train.map(lambda x, y: (x.flatten(1), y), "flattened")
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    training = ledger.train(
        model, optimizer, data, batch_size=ctx.config.batch_size,
        epochs=ctx.config.epochs, max_grad_norm=1.0,
    )  # fmt: skip
    for _ in range(ctx.config.epochs):
        for x, y in training.data_loader:
            training.optimizer.zero_grad()
            torch.nn.functional.cross_entropy(training.module(x), y).backward()
            training.optimizer.step()
    return MammoArtifact(Linear(model))


def _without_the_ledger(ctx, view, ledger):
    images, labels = view.train.unprotected("plain SGD, no DP")
    model = _model(ctx)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    for _ in range(ctx.config.epochs):
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(images.flatten(1)), labels).backward()
        optimizer.step()
    return MammoArtifact(Linear(model))


@pytest.fixture
def methods(monkeypatch):
    specs = {
        name: MethodSpec("mammo-cls", name, name, {"smoke": Tiny()}, fn)
        for name, fn in (("honest", _through_the_ledger), ("leaky", _without_the_ledger))
    }
    original = bench.runner.get_method
    monkeypatch.setattr(
        bench.runner, "get_method", lambda task, name: specs.get(name) or original(task, name)
    )


def _request(out, method, eps):
    return RunRequest(
        task="mammo-cls", epsilons=eps, methods=(method,), seeds=(0,), profile="smoke",
        dataset="phantom-mammo", out=out,
    )  # fmt: skip


def test_a_method_that_reads_private_data_unprotected_gets_no_finite_epsilon(methods, tmp_path):
    result = run(_request(tmp_path, "leaky", (10.0, math.inf)))
    (failed,) = result.failed
    assert failed.cell.epsilon == 10.0 and "PrivacyViolation" in failed.error
    assert "without protection" in failed.error
    (record,) = iter_records(tmp_path)  # only the eps = inf cell wrote a record
    assert record["epsilon"] == "inf" and record["privacy"]["target_epsilon"] is None
    steps = record["privacy"]["private_data_steps"]
    assert steps[0]["protection"].startswith("none: plain SGD")
    assert steps[-1]["name"] == "evaluation"


def test_a_method_that_trains_through_the_ledger_gets_the_cells_budget(methods, tmp_path):
    result = run(_request(tmp_path, "honest", (10.0,)))
    assert not result.failed, [s.error for s in result.failed]
    (record,) = iter_records(tmp_path)
    privacy = record["privacy"]
    q, steps = 16 / 64, 2 * 4  # 64 training patches, batches of 16, 2 epochs
    expected = calibrate(PrivacyBudget(10.0, 1e-4, "prv"), q, steps).sigma
    assert privacy["noise_multiplier"] == expected and privacy["sample_rate"] == q
    assert privacy["steps"] == steps and privacy["achieved_epsilon"] <= 10.0
    assert record["risk"]["sigma"] == expected
    assert len(record["outputs"]["internal"]["score"]) == 64
    assert np.isfinite(record["metrics"]["auroc_internal"])
