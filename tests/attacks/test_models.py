"""The attacks' models under opacus: per-sample gradients equal a per-example loop, and one
DP step (the task's release) changes every trainable parameter (privacy rule 3)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from opacus import GradSampleModule

from attacks.models import HiddenTrap, LinearTrap, SmallCNN, trap_loss
from bench.tasks.recon_attack.release import dp_step


def _ce_sum(outputs, targets):
    return F.cross_entropy(outputs, targets, reduction="sum")


def _cases():
    gen = torch.Generator().manual_seed(0)
    labels = torch.tensor([0, 2, 1, 2])
    hidden = HiddenTrap(6, generator=gen)
    return {
        "linear-trap": (LinearTrap(5, rows=3), torch.randn(4, 5, generator=gen), None, trap_loss),
        "hidden-trap": (hidden, torch.randn(4, 6, generator=gen), None, trap_loss),
        "small-cnn": (SmallCNN(1, 8, 3), torch.rand(4, 1, 8, 8, generator=gen), labels, _ce_sum),
    }


@pytest.mark.parametrize("name", ["linear-trap", "hidden-trap", "small-cnn"])
def test_per_sample_gradients_equal_a_per_example_loop(name):
    model, inputs, targets, loss_fn = _cases()[name]
    gsm = GradSampleModule(model, loss_reduction="sum")  # the default "mean" scales by B
    loss_fn(gsm(inputs), targets).backward()
    opacus_grads = {n: p.grad_sample.clone() for n, p in model.named_parameters()}
    gsm.cleanup()
    for i in range(len(inputs)):
        target_i = None if targets is None else targets[i : i + 1]
        loss = loss_fn(model(inputs[i : i + 1]), target_i)
        grads = torch.autograd.grad(loss, list(model.parameters()))
        for (n, _), g in zip(model.named_parameters(), grads, strict=True):
            torch.testing.assert_close(opacus_grads[n][i], g, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("name", ["linear-trap", "hidden-trap", "small-cnn"])
def test_one_dp_step_changes_every_trainable_parameter(name):
    model, inputs, targets, loss_fn = _cases()[name]
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    update = dp_step(
        model,
        inputs,
        loss_fn,
        targets=targets,
        noise_multiplier=1.0,
        generator=torch.Generator().manual_seed(1),
    )
    assert set(update) == set(before)  # unwrapped names, no "_module." prefix
    for n, p in model.named_parameters():
        assert (p.detach() != before[n]).all()
        torch.testing.assert_close(update[n], before[n] - p.detach())
