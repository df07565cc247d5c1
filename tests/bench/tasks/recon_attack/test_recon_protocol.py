"""What the task gives an attack: never the target; the cell's budget, calibrated by the ledger."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch

from bench.errors import BenchError
from bench.privacy.accounting import calibrate
from bench.privacy.ledger import PrivacyLedger
from bench.runner import RunRequest, make_context
from bench.tasks import get_method
from bench.tasks.base import Cell
from bench.tasks.recon_attack.api import AttackView, Release
from bench.tasks.recon_attack.protocol import PROTOCOL

METHODS = ("prior-free", "prior-free-dpsgd", "identification", "inverting-gradients")


def _cell(method: str, eps: float = 10.0, tmp_path=None):
    request = RunRequest(
        task="recon-attack", epsilons=(eps,), methods=(method,), seeds=(0,), profile="smoke",
        dataset="phantom-cardiac", out=tmp_path,
    )  # fmt: skip
    ctx = make_context(request, Cell("recon-attack", method, eps, 0))
    return ctx, PrivacyLedger(ctx.budget, unit=ctx.task.privacy_unit)


class Spy:
    """Wraps a reference attack and inspects everything it is given."""

    def __init__(self, inner, targets: torch.Tensor):
        self.inner, self.targets = inner, targets.flatten(1).double()
        self.model, self.loss = inner.model, inner.loss
        self.releases = 0

        def seen(module, inputs, _output):  # a function: deep copies of the model share it
            if module is self.model:  # the attack's own instance: its read-outs only
                for row in inputs[0]:
                    self.check(row)

        self.model.register_forward_hook(seen)

    def check(self, tensor: torch.Tensor) -> None:
        flat = tensor.detach().flatten().double()
        for target in self.targets:
            if flat.numel() == target.numel():
                assert not torch.allclose(flat, target, atol=1e-3), "a target reached the attack"

    def reconstruct(self, release: Release):
        assert set(vars(release)) == {"updates", "sampled", "norm", "label"}
        for update in release.updates:
            for value in update.values():
                self.check(value)
        self.releases += 1
        return self.inner.reconstruct(release)


@pytest.mark.parametrize("method", METHODS)
def test_the_attack_never_receives_a_target(method, tmp_path):
    ctx, ledger = _cell(method, tmp_path=tmp_path)
    prepared = PROTOCOL.prepare(ctx, ledger)
    view, held = prepared.view, prepared.held
    assert isinstance(view, AttackView)
    method_ctx = ctx.for_method()
    assert not hasattr(method_ctx, "data_root") and not hasattr(method_ctx, "dataset")
    spy = Spy(get_method("recon-attack", method).run(method_ctx, view, ledger), held.inputs)
    for name in ("noise_multiplier", "max_grad_norm", "sample_rate", "target_norm"):
        assert not isinstance(getattr(view, name), torch.Tensor)
    if view.candidates is not None:  # the informed adversary's prior holds the targets by design;
        assert view.candidates.data_ptr() != held.inputs.data_ptr()  # which one is never said
    scored = PROTOCOL.score(ctx, prepared, spy, ledger)
    assert spy.releases == ctx.settings.threat_model(view.threat_model).trials
    assert scored.metrics["trials"] == spy.releases


@pytest.mark.parametrize("eps", [1.0, 10.0])
@pytest.mark.parametrize("method", ["prior-free", "prior-free-dpsgd"])
def test_the_view_has_the_cells_budget_calibrated_by_the_ledger(method, eps, tmp_path):
    ctx, ledger = _cell(method, eps, tmp_path)
    view = PROTOCOL.prepare(ctx, ledger).view
    threat = ctx.settings.threat_model(view.threat_model)
    expected = calibrate(ctx.budget, threat.sample_rate, threat.steps).sigma
    assert view.noise_multiplier == expected > 0
    assert (view.sample_rate, view.steps) == (threat.sample_rate, threat.steps)


def test_the_non_private_baseline_has_no_noise_and_no_clipping(tmp_path):
    ctx, ledger = _cell("prior-free", math.inf, tmp_path)
    view = PROTOCOL.prepare(ctx, ledger).view
    assert view.noise_multiplier == 0 and math.isinf(view.max_grad_norm)


def test_a_config_without_a_threat_model_is_a_clear_error(tmp_path):
    ctx, ledger = _cell("prior-free", tmp_path=tmp_path)
    ctx = dataclasses.replace(ctx, config=object())
    with pytest.raises(BenchError, match="threat_model"):
        PROTOCOL.prepare(ctx, ledger)


class _Answers:
    """An attack that answers a fixed value."""

    def __init__(self, answer, dim: int):
        self.model = torch.nn.Linear(dim, 1, bias=False)
        self.answer = answer

    def loss(self, outputs, labels):
        return outputs.sum()

    def reconstruct(self, release):
        return self.answer


@pytest.mark.parametrize(
    ("method", "answer", "message"),
    [
        ("prior-free", torch.zeros(3), "shape"),
        ("prior-free", torch.full((4,), math.nan), "non-finite"),
        ("identification", 10, "candidate index"),
        ("identification", torch.zeros(16), "candidate index"),
    ],
)
def test_bad_answers_are_clear_errors(method, answer, message, tmp_path):
    ctx, ledger = _cell(method, tmp_path=tmp_path)
    prepared = PROTOCOL.prepare(ctx, ledger)
    attack = _Answers(answer, prepared.view.input_shape[0])
    with pytest.raises(BenchError, match=message):
        PROTOCOL.score(ctx, prepared, attack, ledger)


def test_abstaining_is_a_failure(tmp_path):
    ctx, ledger = _cell("prior-free", tmp_path=tmp_path)
    prepared = PROTOCOL.prepare(ctx, ledger)
    scored = PROTOCOL.score(ctx, prepared, _Answers(None, 4), ledger)
    assert scored.metrics["success_empirical"] == 0 and "mse_mean" not in scored.metrics
    assert set(scored.outputs["nmse"]) == {None}


def test_an_artifact_that_is_not_an_attack_is_refused(tmp_path):
    ctx, ledger = _cell("prior-free", tmp_path=tmp_path)
    prepared = PROTOCOL.prepare(ctx, ledger)
    with pytest.raises(BenchError, match="returns an Attack"):
        PROTOCOL.score(ctx, prepared, object(), ledger)
