"""The identification attack through real opacus steps against the ReRo bound (computed inline)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from opacus.accountants import RDPAccountant
from scipy import stats

from attacks.identification import identification_attack, identification_trials

TRIALS = 400


def _ci(hits: np.ndarray):
    return stats.binomtest(int(hits.sum()), len(hits)).proportion_ci(0.999)


def _rero_bound(n: int, sigma: float) -> float:
    # One Gaussian step is (1/sigma)-GDP: success <= Phi(Phi^-1(1/n) + 1/sigma).
    return stats.norm.cdf(stats.norm.ppf(1 / n) + 1 / sigma)


def _image_like(n: int, seed: int = 0) -> torch.Tensor:
    """Smooth random 8x8 'images' in [0, 1], flattened: blurred noise plus a shared background."""
    gen = torch.Generator().manual_seed(seed)
    noise = torch.rand(n, 1, 8, 8, generator=gen)
    smooth = torch.nn.functional.avg_pool2d(noise, 3, stride=1, padding=1)
    return (0.3 + 0.7 * smooth).reshape(n, 64)


def _seeded(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _targets(n: int, seed: int = 1) -> torch.Tensor:
    return torch.randint(n, (TRIALS,), generator=torch.Generator().manual_seed(seed))


def test_without_noise_the_target_is_always_found():
    candidates = _image_like(10)
    for clip in (1.0, math.inf):
        hits = identification_trials(
            candidates,
            _targets(10),
            noise_multiplier=0.0,
            max_grad_norm=clip,
            generator=torch.Generator().manual_seed(0),
        )
        assert hits.all()


def test_under_huge_noise_success_is_the_baseline():
    n = 4
    hits = identification_trials(
        _image_like(n),
        _targets(n),
        noise_multiplier=1e4,
        generator=torch.Generator().manual_seed(0),
    )
    ci = _ci(hits)
    assert ci.low <= 1 / n <= ci.high


@pytest.mark.parametrize("sigma", [0.7, 1.5])
def test_antipodal_pair_attains_the_bound(sigma):
    direction = torch.randn(16, generator=torch.Generator().manual_seed(0))
    direction = direction / direction.norm() * 1.01  # clipped to norm C = 1
    candidates = torch.stack([direction, -direction])
    hits = identification_trials(
        candidates, _targets(2), noise_multiplier=sigma, generator=torch.Generator().manual_seed(1)
    )
    ci = _ci(hits)
    # The two clipped gradients lie 2C apart: the error is Phi(-1/sigma), the bound is tight.
    assert ci.low <= stats.norm.cdf(1 / sigma) <= ci.high
    assert _rero_bound(2, sigma) == pytest.approx(stats.norm.cdf(1 / sigma))


@pytest.mark.parametrize(("n", "sigma"), [(8, 0.1), (8, 0.5), (13, 1.0)])
def test_image_like_candidates_stay_below_the_bound(n, sigma):
    hits = identification_trials(
        _image_like(n),
        _targets(n),
        noise_multiplier=sigma,
        generator=torch.Generator().manual_seed(2),
    )
    assert _ci(hits).low <= _rero_bound(n, sigma)
    assert hits.mean() > 1 / n  # the attack is informative, not blind


def test_guess_is_the_maximum_likelihood_candidate():
    candidates = _image_like(5)
    accountant = RDPAccountant()
    result = identification_attack(
        candidates,
        2,
        noise_multiplier=1.0,
        generator=torch.Generator().manual_seed(0),
        accountant=accountant,
    )
    assert result.log_likelihoods.shape == (5,)
    assert result.guess == int(result.log_likelihoods.argmax())
    assert result.correct == (result.guess == 2)
    assert accountant.history == [(1.0, 1.0, 1)]


def test_same_seed_same_result():
    def run(seed):
        return identification_attack(
            _image_like(6), 3, noise_multiplier=2.0, generator=torch.Generator().manual_seed(seed)
        )

    first, again, other = run(0), run(0), run(1)
    assert torch.equal(first.log_likelihoods, again.log_likelihoods)
    assert not torch.equal(first.log_likelihoods, other.log_likelihoods)
