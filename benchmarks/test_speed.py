"""Speed benchmarks (pytest-benchmark): ``python -m pytest benchmarks --benchmark-only``.

Not part of the default test run; the numbers go into docs/performance.md.
"""

import math

import numpy as np
import pytest
import torch

from bench.privacy.bounds import prior_free as bounds
from bench.privacy.bounds import rero
from attacks.inverting_gradients import inverting_gradients_attack
from attacks.models import SmallCNN
from attacks.prior_free import prior_free_attack
from bench.privacy.accounting import solve_sigma
from bench.privacy.budget import PrivacyBudget

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


@pytest.mark.parametrize("dim", [4, 1024])
def test_prior_free_trial(benchmark, dim):
    torch.set_num_threads(1)
    x = torch.rand(dim)
    x = x / x.norm() * 1.01
    gen = torch.Generator().manual_seed(0)
    result = benchmark(prior_free_attack, x, noise_multiplier=1.0, generator=gen)
    assert result.observations == 1


def test_inverting_gradients_trial(benchmark):
    torch.set_num_threads(1)
    torch.manual_seed(0)
    model, x = SmallCNN(1, 16, 2), torch.rand(1, 16, 16)
    gen = torch.Generator().manual_seed(0)
    result = benchmark.pedantic(
        inverting_gradients_attack,
        args=(x, 1, model),
        kwargs=dict(
            noise_multiplier=0.5,
            max_grad_norm=1.0,
            iterations=150,
            restarts=2,
            tv_weight=1e-2,
            lr=0.1,
            generator=gen,
        ),
        rounds=3,
        iterations=1,
    )
    assert math.isfinite(result.loss)
