"""The task's DP release: clipping, noise, empty batches, accounting, the trials' stream."""

from __future__ import annotations

import math

import pytest
import torch
from opacus import GradSampleModule
from opacus.accountants import RDPAccountant
from torch import nn

from bench.tasks.recon_attack.release import (
    DPStep,
    clip_factor,
    dp_step,
    release_trials,
    trial_steppers,
)


def _trap(dim: int) -> nn.Linear:
    """A bias-free one-row linear model at zero: its update is exactly the released gradient."""
    model = nn.Linear(dim, 1, bias=False)
    nn.init.zeros_(model.weight)
    return model


def _sum(outputs, _targets=None):
    return outputs.sum()


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_release_is_the_clipped_sum_when_noiseless():
    step = DPStep(_trap(2), _sum, noise_multiplier=0.0, generator=_gen())
    update = step.release(torch.tensor([[3.0, 4.0], [0.3, 0.4]]))["weight"][0]
    step.close()
    # The first example (norm 5) is clipped to norm 1, the second (norm 0.5) is left alone.
    torch.testing.assert_close(update, torch.tensor([0.6 + 0.3, 0.8 + 0.4]))


def test_noise_has_std_sigma_times_c():
    dim, sigma, clip = 20_000, 2.0, 0.5
    x = torch.full((1, dim), 1.0 / math.sqrt(dim))
    step = DPStep(_trap(dim), _sum, noise_multiplier=sigma, max_grad_norm=clip, generator=_gen())
    noise = step.release(x)["weight"][0] - clip * x[0]
    step.close()
    assert abs(float(noise.std()) / (sigma * clip) - 1.0) < 0.02
    assert abs(float(noise.mean())) < 0.05


def test_empty_batch_releases_pure_noise_and_is_accounted():
    accountant = RDPAccountant()
    step = DPStep(
        _trap(10_000), _sum, noise_multiplier=1.5, generator=_gen(), accountant=accountant,
        sample_rate=0.1,
    )  # fmt: skip
    update = step.release(torch.zeros(0, 10_000))["weight"]
    step.close()
    assert abs(float(update.std()) - 1.5) < 0.05
    assert accountant.history == [(1.5, 0.1, 1)]


def test_empty_batch_without_noise_releases_nothing():
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.Flatten(), nn.Linear(4 * 6 * 6, 3))
    update = dp_step(
        model,
        torch.zeros(0, 1, 8, 8),
        lambda out, y: nn.functional.cross_entropy(out, y, reduction="sum"),
        targets=torch.zeros(0, dtype=torch.long),
        noise_multiplier=0.0,
        generator=_gen(),
    )
    assert all((u == 0).all() for u in update.values())


def test_non_private_step_is_the_plain_unclipped_gradient():
    x = torch.tensor([[3.0, 4.0]])
    update = dp_step(
        _trap(2), x, _sum, noise_multiplier=0.0, max_grad_norm=math.inf, generator=_gen()
    )
    torch.testing.assert_close(update["weight"], x)


@pytest.mark.parametrize(
    ("sigma", "clip", "with_accountant"),
    [(1.0, math.inf, False), (0.0, 1.0, True), (0.0, math.inf, True), (-1.0, 1.0, False)],
)
def test_invalid_settings_raise(sigma, clip, with_accountant):
    accountant = RDPAccountant() if with_accountant else None
    with pytest.raises(ValueError):
        DPStep(
            _trap(2), _sum, noise_multiplier=sigma, max_grad_norm=clip, generator=_gen(),
            accountant=accountant,
        )  # fmt: skip


def test_accountant_sees_every_step_and_model_is_unwrapped_after():
    accountant = RDPAccountant()
    model = _trap(4)
    step = DPStep(
        model, _sum, noise_multiplier=1.0, generator=_gen(), accountant=accountant,
        sample_rate=0.5,
    )  # fmt: skip
    for _ in range(3):
        step.release(torch.ones(1, 4))
    step.close()
    assert accountant.history == [(1.0, 0.5, 3)]
    assert not hasattr(model.weight, "grad_sample")
    GradSampleModule(model).cleanup()  # the hooks are gone: wrapping again works


def test_trial_steppers_account_for_one_trial_only():
    accountant = RDPAccountant()
    dp = {"noise_multiplier": 1.0, "generator": _gen()}
    with trial_steppers(_trap(4), _sum, accountant=accountant, **dp) as stepper_for:
        for trial in range(5):
            for _ in range(2):
                stepper_for(trial).release(torch.ones(1, 4))
    assert accountant.history == [(1.0, 1.0, 2)]


def test_same_seed_same_release():
    def release(seed):
        model = nn.Linear(8, 3, bias=False)
        nn.init.ones_(model.weight)
        return dp_step(model, torch.ones(2, 8), _sum, noise_multiplier=1.0, generator=_gen(seed))

    first, again, other = release(0), release(0), release(1)
    assert torch.equal(first["weight"], again["weight"])
    assert not torch.equal(first["weight"], other["weight"])


def test_clip_factor_matches_opacus():
    assert clip_factor(0.5, 1.0) == 1.0
    assert clip_factor(4.0, 1.0) == pytest.approx(0.25)
    assert clip_factor(4.0, math.inf) == 1.0


def test_release_trials_samples_then_noises_each_step_from_one_generator():
    inputs = torch.tensor([[0.6, 0.8], [0.8, 0.6]])
    accountant = RDPAccountant()
    releases = list(
        release_trials(
            _trap(2), _sum, inputs, noise_multiplier=0.5, max_grad_norm=1.0, sample_rate=0.5,
            steps=3, generator=_gen(4), accountant=accountant, tell_norm=True,
        )
    )  # fmt: skip
    assert accountant.history == [(0.5, 0.5, 3)]  # trial 0 only: the trials repeat one mechanism
    gen = _gen(4)  # the same stream by hand: a sampling decision, then the step's noise
    for release, x in zip(releases, inputs, strict=True):
        assert release.norm == pytest.approx(1.0) and release.label is None
        for update, hit in zip(release.updates, release.sampled, strict=True):
            assert hit == bool(torch.rand((), generator=gen) < 0.5)
            noise = torch.normal(0.0, 0.5, (1, 2), generator=gen)
            torch.testing.assert_close(update["weight"], x * hit + noise)


def test_release_trials_pass_labels_and_empty_batches():
    model = nn.Linear(3, 2)
    labels = torch.tensor([1, 0])
    seen = []

    def loss(outputs, targets):
        seen.append((len(outputs), targets.tolist()))
        return nn.functional.cross_entropy(outputs, targets, reduction="sum")

    releases = release_trials(
        model, loss, torch.ones(2, 3), labels=labels, noise_multiplier=1.0, max_grad_norm=1.0,
        sample_rate=0.5, steps=4, generator=_gen(1),
    )  # fmt: skip
    got = list(releases)
    assert [r.label for r in got] == [1, 0]
    hits = [h for r in got for h in r.sampled]
    assert seen == [(1, [r.label]) if h else (0, []) for r in got for h in r.sampled]
    assert any(hits) and not all(hits)
