"""Inverting gradients on a real opacus release: succeeds without DP, fails under strong DP."""

from __future__ import annotations

import pytest
import torch
from fixtures.attack_trials import attack_trials, make_view

from attacks.inverting_gradients import InvertingGradientsAttack, total_variation
from attacks.models import SmallCNN

SIZE = 16


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _phantom() -> torch.Tensor:
    """A 16x16 grayscale phantom in [0, 1]: an ellipse with a darker inclusion."""
    yy, xx = torch.meshgrid(torch.linspace(-1, 1, SIZE), torch.linspace(-1, 1, SIZE), indexing="ij")
    body = ((xx / 0.7) ** 2 + (yy / 0.5) ** 2 < 1).float()
    inclusion = (((xx - 0.2) / 0.2) ** 2 + (yy / 0.2) ** 2 < 1).float()
    return (0.2 + 0.6 * body - 0.3 * inclusion)[None]


def _attack(noise_multiplier: float, *, iterations: int = 200, seed: int = 0):
    torch.manual_seed(0)  # the model's initialisation (known to the attacker)
    attack = InvertingGradientsAttack(
        SmallCNN(1, SIZE, 10),
        (1, SIZE, SIZE),
        iterations=iterations,
        restarts=2,
        tv_weight=1e-4,
        lr=0.1,
        generator=torch.Generator().manual_seed(seed),
    )
    view = make_view("label", (1, SIZE, SIZE), noise_multiplier)
    (x_hat,), _ = attack_trials(attack, view, _phantom()[None], labels=torch.tensor([3]), seed=seed)
    return attack, x_hat


def _mse(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).square().mean())


def test_without_noise_the_image_is_reconstructed():
    x = _phantom()
    _, x_hat = _attack(0.0)
    assert x_hat.shape == x.shape
    assert float(x_hat.min()) >= 0.0 and float(x_hat.max()) <= 1.0
    # Far better than the best constant guess (the image's own mean).
    assert _mse(x_hat, x) < 0.01 * _mse(torch.full_like(x, float(x.mean())), x)


def test_under_huge_noise_the_attack_fails():
    x = _phantom()
    _, x_hat = _attack(100.0)
    random_guess = torch.rand(64, *x.shape, generator=torch.Generator().manual_seed(5))
    random_mse = float((random_guess - x).square().mean())
    assert _mse(x_hat, x) > _mse(torch.full_like(x, float(x.mean())), x)
    assert _mse(x_hat, x) > 0.5 * random_mse


def test_the_model_is_left_unchanged():
    torch.manual_seed(0)
    model = SmallCNN(1, SIZE, 10)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    attack = InvertingGradientsAttack(
        model, (1, SIZE, SIZE), iterations=2, restarts=1, tv_weight=1e-4, lr=0.1,
        generator=torch.Generator().manual_seed(0),
    )  # fmt: skip
    view = make_view("label", (1, SIZE, SIZE), 1.0)
    attack_trials(attack, view, _phantom()[None], labels=torch.tensor([1]))
    for n, p in model.named_parameters():
        assert torch.equal(p.detach(), before[n]) and p.grad is None


def test_same_seed_same_reconstruction():
    (a, first), (b, again), (_, other) = (_attack(1.0, iterations=10, seed=s) for s in (0, 0, 1))
    assert torch.equal(first, again) and a.last_loss == b.last_loss
    assert not torch.equal(first, other)


def test_total_variation_of_a_constant_image_is_zero():
    assert float(total_variation(torch.full((1, 1, 4, 4), 0.3))) == 0.0
