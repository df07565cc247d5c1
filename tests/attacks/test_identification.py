"""The identification attack on real opacus releases against the ReRo bound (computed inline)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from fixtures.attack_trials import attack_trials, make_view
from opacus.accountants import RDPAccountant
from scipy import stats

from attacks.identification import IdentificationAttack
from bench.errors import BenchError

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


def _targets(n: int, seed: int = 1) -> torch.Tensor:
    return torch.randint(n, (TRIALS,), generator=torch.Generator().manual_seed(seed))


def _hits(candidates, truth, sigma, *, clip=1.0, seed=0, accountant=None):
    view = make_view("candidates", candidates.shape[1:], sigma, clip=clip, candidates=candidates)
    attack = IdentificationAttack(view)
    picks, _ = attack_trials(attack, view, candidates[truth], seed=seed, accountant=accountant)
    return np.array(picks) == truth.numpy()


def test_without_noise_the_target_is_always_found():
    candidates = _image_like(10)
    for clip in (1.0, math.inf):
        assert _hits(candidates, _targets(10), 0.0, clip=clip).all()


def test_under_huge_noise_success_is_the_baseline():
    n = 4
    ci = _ci(_hits(_image_like(n), _targets(n), 1e4))
    assert ci.low <= 1 / n <= ci.high


@pytest.mark.parametrize("sigma", [0.7, 1.5])
def test_antipodal_pair_attains_the_bound(sigma):
    direction = torch.randn(16, generator=torch.Generator().manual_seed(0))
    direction = direction / direction.norm() * 1.01  # clipped to norm C = 1
    ci = _ci(_hits(torch.stack([direction, -direction]), _targets(2), sigma, seed=1))
    # The two clipped gradients lie 2C apart: the error is Phi(-1/sigma), the bound is tight.
    assert ci.low <= stats.norm.cdf(1 / sigma) <= ci.high
    assert _rero_bound(2, sigma) == pytest.approx(stats.norm.cdf(1 / sigma))


@pytest.mark.parametrize(("n", "sigma"), [(8, 0.1), (8, 0.5), (13, 1.0)])
def test_image_like_candidates_stay_below_the_bound(n, sigma):
    hits = _hits(_image_like(n), _targets(n), sigma, seed=2)
    assert _ci(hits).low <= _rero_bound(n, sigma)
    assert hits.mean() > 1 / n  # the attack is informative, not blind


def test_guess_is_the_maximum_likelihood_candidate():
    candidates = _image_like(5)
    view = make_view("candidates", (64,), 1.0, candidates=candidates)
    attack, accountant = IdentificationAttack(view), RDPAccountant()
    seen = []
    original = attack.reconstruct
    attack.reconstruct = lambda release: (
        seen.append(attack.log_likelihoods(release)) or original(release)
    )
    (guess,), _ = attack_trials(attack, view, candidates[2:3], accountant=accountant)
    assert seen[0].shape == (5,) and guess == int(seen[0].argmax())
    assert accountant.history == [(1.0, 1.0, 1)]


def test_same_seed_same_result():
    candidates = _image_like(6)
    view = make_view("candidates", (64,), 2.0, candidates=candidates)
    attack = IdentificationAttack(view)

    def run(seed):
        return attack_trials(attack, view, candidates[[3] * 20], seed=seed)[0]

    assert run(0) == run(0) and run(0) != run(1)


def test_needs_the_candidates():
    with pytest.raises(BenchError, match="'candidates' threat model"):
        IdentificationAttack(make_view("norm", (4,), 1.0))
