"""Speed benchmarks (pytest-benchmark): ``python -m pytest benchmarks --benchmark-only``.

Not part of the default test run; the numbers go into docs/performance.md.
"""

import math

import numpy as np
import pytest
import torch

from attacks.inverting_gradients import InvertingGradientsAttack
from attacks.models import SmallCNN
from attacks.prior_free import PriorFreeAttack
from bench.privacy.accounting import solve_sigma
from bench.privacy.bounds import prior_free as bounds
from bench.privacy.bounds import rero
from bench.privacy.budget import PrivacyBudget
from bench.tasks.recon_attack.api import AttackView
from bench.tasks.recon_attack.release import release_trials

POINTS = 100_000


@pytest.fixture
def grid():
    rng = np.random.default_rng(0)
    return {"eta": rng.uniform(0.01, 1, POINTS), "sigma": rng.uniform(0.1, 5, POINTS)}


def test_mse_bound_throughput(benchmark, grid):
    result = benchmark(bounds.mse_success_bound, grid["eta"], grid["sigma"], 1024, 1.0)
    assert result.shape == (POINTS,)


def test_rero_gdp_throughput(benchmark, grid):
    result = benchmark(rero.rero_gdp, 0.1, 1 / grid["sigma"])
    assert result.shape == (POINTS,)


def test_gdp_delta_throughput(benchmark, grid):
    result = benchmark(bounds.gdp_delta, grid["eta"] * 10, 1 / grid["sigma"])
    assert result.shape == (POINTS,)


def test_subsampled_bound_throughput(benchmark, grid):
    result = benchmark(
        bounds.mse_success_bound_subsampled, grid["eta"], grid["sigma"], 1024, 1.0, 0.01, 1000
    )
    assert result.shape == (POINTS,)


@pytest.mark.parametrize("accountant", ["rdp", "prv"])
@pytest.mark.parametrize(("q", "steps"), [(1.0, 1), (0.01, 10_000)])
def test_calibration_time(benchmark, accountant, q, steps):
    budget = PrivacyBudget(8.0, 1e-5, accountant)
    sigma = benchmark.pedantic(solve_sigma, args=(budget, q, steps), rounds=2, iterations=1)
    assert sigma > 0


def _trial(attack, x, sigma, label=None):
    """One trial as a cell runs it: the task's opacus release, then the attack's answer."""
    (release,) = release_trials(
        attack.model, attack.loss, x[None], labels=label, noise_multiplier=sigma,
        max_grad_norm=1.0, generator=torch.Generator().manual_seed(0), tell_norm=label is None,
    )  # fmt: skip
    return attack.reconstruct(release)


@pytest.mark.parametrize("dim", [4, 1024])
def test_prior_free_trial(benchmark, dim):
    torch.set_num_threads(1)
    x = torch.rand(dim)
    x = x / x.norm() * 1.01
    attack = PriorFreeAttack(AttackView("prior_free", "norm", (dim,), 1.0, 1.0, 1.0, 1, 1.01))
    result = benchmark(_trial, attack, x, 1.0)
    assert result.shape == (dim,)


def test_inverting_gradients_trial(benchmark):
    torch.set_num_threads(1)
    torch.manual_seed(0)
    x = torch.rand(1, 16, 16)
    attack = InvertingGradientsAttack(
        SmallCNN(1, 16, 2), (1, 16, 16), iterations=150, restarts=2, tv_weight=1e-2, lr=0.1,
        generator=torch.Generator().manual_seed(0),
    )  # fmt: skip
    result = benchmark.pedantic(
        _trial, args=(attack, x, 0.5, torch.tensor([1])), rounds=3, iterations=1
    )
    assert result.shape == x.shape and math.isfinite(attack.last_loss)
