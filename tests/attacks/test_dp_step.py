"""The released DP-SGD update: per-sample gradients, clipping, noise, empty batches, accounting."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from opacus import GradSampleModule
from opacus.accountants import RDPAccountant

from attacks.dp_step import DPStep, clip_factor, dp_step, trial_steppers
from attacks.models import HiddenTrap, LinearTrap, SmallCNN, trap_loss


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


@pytest.mark.filterwarnings("ignore:Full backward hook is firing")
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


def test_release_is_the_clipped_sum_when_noiseless():
    inputs = torch.tensor([[3.0, 4.0], [0.3, 0.4]])
    step = DPStep(
        LinearTrap(2), trap_loss, noise_multiplier=0.0, generator=torch.Generator().manual_seed(0)
    )
    update = step.release(inputs)["trap.weight"][0]
    step.close()
    # The first example (norm 5) is clipped to norm 1, the second (norm 0.5) is left alone.
    torch.testing.assert_close(update, torch.tensor([0.6 + 0.3, 0.8 + 0.4]))


def test_noise_has_std_sigma_times_c():
    dim, sigma, clip = 20_000, 2.0, 0.5
    x = torch.full((1, dim), 1.0 / math.sqrt(dim))
    step = DPStep(
        LinearTrap(dim),
        trap_loss,
        noise_multiplier=sigma,
        max_grad_norm=clip,
        generator=torch.Generator().manual_seed(0),
    )
    noise = step.release(x)["trap.weight"][0] - clip * x[0]
    step.close()
    assert abs(float(noise.std()) / (sigma * clip) - 1.0) < 0.02
    assert abs(float(noise.mean())) < 0.05


def test_empty_batch_releases_pure_noise_and_is_accounted():
    accountant = RDPAccountant()
    step = DPStep(
        LinearTrap(10_000),
        trap_loss,
        noise_multiplier=1.5,
        generator=torch.Generator().manual_seed(0),
        accountant=accountant,
        sample_rate=0.1,
    )
    update = step.release(torch.zeros(0, 10_000))["trap.weight"]
    step.close()
    assert abs(float(update.std()) - 1.5) < 0.05
    assert accountant.history == [(1.5, 0.1, 1)]


def test_empty_batch_without_noise_releases_nothing():
    model = SmallCNN(1, 8, 3)
    update = dp_step(
        model,
        torch.zeros(0, 1, 8, 8),
        _ce_sum,
        targets=torch.zeros(0, dtype=torch.long),
        noise_multiplier=0.0,
        generator=torch.Generator().manual_seed(0),
    )
    assert all((u == 0).all() for u in update.values())


def test_non_private_step_is_the_plain_unclipped_gradient():
    x = torch.tensor([[3.0, 4.0]])
    update = dp_step(
        LinearTrap(2),
        x,
        trap_loss,
        noise_multiplier=0.0,
        max_grad_norm=math.inf,
        generator=torch.Generator().manual_seed(0),
    )
    torch.testing.assert_close(update["trap.weight"], x)


@pytest.mark.parametrize(
    ("sigma", "clip", "with_accountant"),
    [(1.0, math.inf, False), (0.0, 1.0, True), (0.0, math.inf, True), (-1.0, 1.0, False)],
)
def test_invalid_settings_raise(sigma, clip, with_accountant):
    accountant = RDPAccountant() if with_accountant else None
    with pytest.raises(ValueError):
        DPStep(
            LinearTrap(2),
            trap_loss,
            noise_multiplier=sigma,
            max_grad_norm=clip,
            generator=torch.Generator(),
            accountant=accountant,
        )


def test_accountant_sees_every_step_and_model_is_unwrapped_after():
    accountant = RDPAccountant()
    model = LinearTrap(4)
    step = DPStep(
        model,
        trap_loss,
        noise_multiplier=1.0,
        generator=torch.Generator().manual_seed(0),
        accountant=accountant,
        sample_rate=0.5,
    )
    for _ in range(3):
        step.release(torch.ones(1, 4))
    step.close()
    assert accountant.history == [(1.0, 0.5, 3)]
    assert not hasattr(model.trap.weight, "grad_sample")
    GradSampleModule(model).cleanup()  # the hooks are gone: wrapping again works


def test_trial_steppers_account_for_one_trial_only():
    accountant = RDPAccountant()
    dp = {"noise_multiplier": 1.0, "generator": torch.Generator().manual_seed(0)}
    with trial_steppers(LinearTrap(4), trap_loss, accountant=accountant, **dp) as stepper_for:
        for trial in range(5):
            for _ in range(2):
                stepper_for(trial).release(torch.ones(1, 4))
    assert accountant.history == [(1.0, 1.0, 2)]


def test_same_seed_same_release():
    def release(seed):
        return dp_step(
            HiddenTrap(8, generator=torch.Generator().manual_seed(3)),
            torch.ones(2, 8),
            trap_loss,
            noise_multiplier=1.0,
            generator=torch.Generator().manual_seed(seed),
        )

    first, again, other = release(0), release(0), release(1)
    assert all(torch.equal(first[n], again[n]) for n in first)
    assert not torch.equal(first["trap.weight"], other["trap.weight"])


def test_clip_factor_matches_opacus():
    assert clip_factor(0.5, 1.0) == 1.0
    assert clip_factor(4.0, 1.0) == pytest.approx(0.25)
    assert clip_factor(4.0, math.inf) == 1.0
