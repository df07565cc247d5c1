"""The prior-free attack on real opacus releases matches its closed-form MSE distribution.

The closed forms are computed inline (scipy), independently of bench.privacy.bounds.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from fixtures.attack_trials import attack_trials, make_view, trial_mse
from opacus.accountants import RDPAccountant
from scipy import special, stats

from attacks.models import HiddenTrap, LinearTrap
from attacks.prior_free import PriorFreeAttack
from bench.errors import BenchError

NORM = 1.01  # PAPERS.md C: ||x|| = 1.01 > C = 1, so clipping is active


def _images(trials: int, dim: int, norm: float = NORM, seed: int = 0) -> torch.Tensor:
    images = torch.rand(trials, dim, generator=torch.Generator().manual_seed(seed))
    return images / images.norm(dim=1, keepdim=True) * norm


def _gamma_pvalue(mse: np.ndarray, dim: int, noise_var: float) -> float:
    # MSE = (noise_var / N) chi2_N = Gamma(N/2, scale 2 noise_var / N).
    gamma = stats.gamma(a=dim / 2, scale=2 * noise_var / dim)
    return stats.kstest(mse, gamma.cdf).pvalue


def _run(images, sigma, *, seed, rows=1, hidden=False, readout="all", **view):
    view = make_view("norm", images.shape[1:], sigma, **view)
    trap_gen = torch.Generator().manual_seed(seed + 100)
    attack = PriorFreeAttack(view, rows=rows, hidden=hidden, readout=readout, generator=trap_gen)
    answers, observations = attack_trials(attack, view, images, seed=seed)
    return trial_mse(answers, images), observations


@pytest.mark.parametrize(
    ("dim", "rows", "hidden", "steps"),
    [(4, 1, False, 1), (64, 1, False, 1), (16, 4, False, 1), (16, 1, True, 1), (16, 1, False, 3)],
)
def test_mse_follows_the_gamma_law(dim, rows, hidden, steps):
    sigma = 0.7
    mse, observations = _run(
        _images(300, dim), sigma, seed=1, rows=rows, hidden=hidden, steps=steps
    )
    assert (observations == steps).all()
    # Averaging K = steps observations divides the variance by K; C, M and the hiding cancel.
    assert _gamma_pvalue(mse, dim, sigma**2 * NORM**2 / steps) > 0.01


def test_hidden_attack_layer_alone_is_worse_than_the_bare_attack():
    sigma, dim = 0.7, 16
    mse, _ = _run(_images(300, dim), sigma, seed=2, hidden=True, readout="trap")
    # Clipping acts on the whole gradient (norm sqrt(3) ||x||), the attack layer carries a
    # third of its energy: the noise variance triples (attacks.models).
    assert _gamma_pvalue(mse, dim, 3 * sigma**2 * NORM**2) > 0.01
    assert mse.mean() > 2 * sigma**2 * NORM**2


def test_inactive_clipping_only_hurts_the_adversary():
    sigma, dim, norm = 0.7, 16, 0.5
    mse, _ = _run(_images(300, dim, norm=norm), sigma, seed=3, norm=norm)
    # Unclipped, the noise sigma C exceeds sigma ||x||: the bound's worst case is clipping.
    assert _gamma_pvalue(mse, dim, sigma**2 * 1.0**2) > 0.01


def test_traps_are_isotropic():
    for model in (LinearTrap(6, rows=3), HiddenTrap(6, generator=torch.Generator().manual_seed(0))):
        x = torch.randn(1, 6)
        grads = torch.autograd.grad(model(x).sum(), list(model.parameters()))
        update = dict(zip(dict(model.named_parameters()), grads, strict=True))
        torch.testing.assert_close(model.adjoint(update), model.gain() ** 2 * x[0])


@pytest.mark.parametrize(("hidden", "clip"), [(False, 1.0), (True, 1.0), (False, math.inf)])
def test_noiseless_reconstruction_is_perfect(hidden, clip):
    x = _images(1, 32)
    view = make_view("norm", (32,), 0.0, clip=clip)
    attack = PriorFreeAttack(view, hidden=hidden, generator=torch.Generator().manual_seed(0))
    (x_hat,), _ = attack_trials(attack, view, x)
    torch.testing.assert_close(x_hat, x[0], rtol=1e-4, atol=1e-5)


def test_subsampled_success_matches_the_binomial_mixture():
    dim, sigma, steps, q, eta, trials = 4, 1.0, 5, 0.3, 0.5, 600
    mse, observations = _run(_images(trials, dim), sigma, seed=4, q=q, steps=steps)
    k = np.arange(steps + 1)
    success = stats.binom.pmf(k, steps, q) * special.gammainc(
        dim / 2, dim * eta * k / (2 * sigma**2 * NORM**2)
    )
    ci = stats.binomtest(int((mse <= eta).sum()), trials).proportion_ci(0.999)
    assert ci.low <= success.sum() <= ci.high
    assert np.isinf(mse[observations == 0]).all()  # abstention is failure
    ci_k = stats.binomtest(int(observations.sum()), trials * steps).proportion_ci(0.999)
    assert ci_k.low <= q <= ci_k.high


def test_never_sampled_target_means_abstention():
    accountant = RDPAccountant()
    view = make_view("norm", (8,), 1.0, q=1e-9, steps=3)
    attack = PriorFreeAttack(view)
    (x_hat,), observations = attack_trials(attack, view, _images(1, 8), accountant=accountant)
    assert x_hat is None and observations[0] == 0
    assert accountant.history == [(1.0, 1e-9, 3)]  # the steps happened and are accounted


def test_trials_report_the_accountant_of_one_trial():
    accountant = RDPAccountant()
    view = make_view("norm", (8,), 2.0, q=0.5, steps=4)
    attack_trials(PriorFreeAttack(view), view, _images(10, 8), accountant=accountant)
    assert accountant.history == [(2.0, 0.5, 4)]
    assert 0 < accountant.get_epsilon(1e-5) < math.inf


@pytest.mark.parametrize("hidden", [False, True])
def test_same_seed_same_reconstruction(hidden):
    def run(seed):
        view = make_view("norm", (16,), 1.0, q=0.7, steps=4)
        attack = PriorFreeAttack(view, hidden=hidden, generator=torch.Generator().manual_seed(3))
        (x_hat,), _ = attack_trials(attack, view, _images(1, 16), seed=seed)
        return x_hat

    first, again, other = run(0), run(0), run(1)
    assert torch.equal(first, again)
    assert not torch.equal(first, other)


def test_hidden_trap_rejects_rows():
    with pytest.raises(ValueError):
        PriorFreeAttack(make_view("norm", (4,), 1.0), rows=2, hidden=True)


def test_needs_the_norm_threat_model():
    with pytest.raises(BenchError, match="'norm' threat model"):
        PriorFreeAttack(make_view("label", (1, 4, 4), 1.0))
