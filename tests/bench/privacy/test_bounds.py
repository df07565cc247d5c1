"""Oracle, simulation and invariance tests of bench.privacy.bounds."""

import dataclasses

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, stats
from scipy.special import ndtr, ndtri

from bench.privacy.bounds import prior_free as b
from bench.privacy.bounds import rero as r

FAST = settings(max_examples=40, deadline=None)
gammas = st.floats(0.01, 0.99)
etas = st.floats(1e-3, 10.0)
dims = st.integers(1, 5000)
norms = st.floats(0.1, 10.0)
sigmas = st.floats(0.05, 20.0)


def _cp_interval(successes, trials, level=0.999):
    ci = stats.binomtest(int(successes), int(trials)).proportion_ci(level, method="exact")
    return ci.low, ci.high


# --- prior-free bounds, q = 1 -------------------------------------------------------------


def test_paper_check_values():
    assert b.mse_success_bound(0.1, 1.0, 1, 1.0) == pytest.approx(0.24817, abs=5e-6)
    assert r.rero_gdp(1 / 13, 1.0) == pytest.approx(0.33503, abs=5e-6)


def test_mse_bound_equals_chi2_and_gamma():
    eta = np.array([0.01, 0.1, 0.5, 2.0])[:, None]
    sigma, dim, norm, steps = np.array([0.3, 1.0, 4.0]), 12, 1.01, 3
    got = b.mse_success_bound(eta, sigma, dim, norm, steps)
    var = sigma**2 / steps
    assert got.shape == (4, 3)
    np.testing.assert_allclose(got, stats.chi2.cdf(dim * eta / (var * norm**2), dim), rtol=1e-12)
    scale = 2 * var * norm**2 / dim
    np.testing.assert_allclose(got, stats.gamma.cdf(eta, dim / 2, scale=scale), rtol=1e-12)


@pytest.mark.parametrize(("dim", "sigma", "steps", "eta"), [(4, 0.7, 1, 0.3), (3072, 1.0, 2, 0.51)])
def test_mse_bound_matches_attack_simulation(dim, sigma, steps, eta):
    rng = np.random.default_rng(1)
    x = rng.random(dim)
    x *= 1.01 / np.linalg.norm(x)
    trials = 4000
    copies = x + sigma * np.linalg.norm(x) * rng.standard_normal((trials, steps, dim))
    mse = np.mean((copies.mean(axis=1) - x) ** 2, axis=1)
    low, high = _cp_interval(np.sum(mse <= eta), trials)
    assert low <= b.mse_success_bound(eta, sigma, dim, 1.01, steps) <= high
    assert np.mean(mse) == pytest.approx(b.expected_mse(sigma, 1.01, steps), rel=0.05)


def test_psnr_bound_is_mse_bound_at_matching_threshold():
    rho, data_range = np.array([5.0, 20.0, 35.0]), 2.0
    eta = data_range**2 * 10 ** (-rho / 10)
    np.testing.assert_allclose(
        b.psnr_success_bound(rho, 0.5, 64, 3.0, data_range, steps=2),
        b.mse_success_bound(eta, 0.5, 64, 3.0, steps=2),
        rtol=1e-14,
    )


def test_mse_quantile_inverts_bound():
    p = np.array([0.0, 0.05, 0.5, 0.95])
    eta = b.mse_quantile(p, 1.5, 16, 0.8, steps=4)
    np.testing.assert_allclose(b.mse_success_bound(eta, 1.5, 16, 0.8, steps=4), p, atol=1e-12)


def test_non_private_edge_cases():
    assert b.mse_success_bound(0.0, 0.0, 10, 1.0) == 1.0
    assert b.psnr_success_bound(np.inf, 0.0, 10, 1.0) == 1.0
    assert b.calibrate_sigma_mse(1.0, 0.1, 10, 1.0) == 0.0
    assert b.calibrate_sigma_mse(0.0, 0.1, 10, 1.0) == np.inf
    assert b.gdp_mu(0.0, steps=7) == np.inf
    assert r.rero_gdp(0.1, np.inf) == 1.0
    assert r.rero_glrt(0.1, 0.0, 5) == 1.0


@FAST
@given(gammas, etas, dims, norms, st.integers(1, 100))
def test_calibration_round_trip(gamma, eta, dim, norm, steps):
    sigma = b.calibrate_sigma_mse(gamma, eta, dim, norm, steps)
    assert b.mse_success_bound(eta, sigma, dim, norm, steps) == pytest.approx(gamma, rel=1e-9)
    rho = -10 * np.log10(eta)
    sigma_psnr = b.calibrate_sigma_psnr(gamma, rho, dim, norm, steps=steps)
    assert sigma_psnr == pytest.approx(sigma, rel=1e-9)


@FAST
@given(etas, sigmas, sigmas, dims, norms, st.integers(1, 50))
def test_bound_monotone(eta, sigma_a, sigma_b, dim, norm, steps):
    lo, hi = sorted([sigma_a, sigma_b])
    bound = b.mse_success_bound
    assert bound(eta, lo, dim, norm, steps) >= bound(eta, hi, dim, norm, steps)
    assert bound(eta, hi, dim, norm, steps) <= bound(2 * eta, hi, dim, norm, steps)
    assert bound(eta, hi, dim, norm, steps) <= bound(eta, hi, dim, norm, steps + 1)


# --- GDP conversion ------------------------------------------------------------------------


def _hockey_stick(epsilon, mu):
    """delta(eps) = int (q(y) - e^eps p(y))_+ dy for P = N(0, 1), Q = N(mu, 1)."""
    cut = epsilon / mu + mu / 2  # the integrand is positive exactly above this point

    def integrand(y):
        return stats.norm.pdf(y, mu) - np.exp(epsilon) * stats.norm.pdf(y)

    return integrate.quad(integrand, cut, np.inf, epsabs=1e-14, epsrel=1e-10)[0]


@pytest.mark.parametrize("mu", [0.1, 0.5, 1.0, 3.0])
@pytest.mark.parametrize("epsilon", [0.0, 0.5, 2.0, 6.0])
def test_gdp_delta_matches_hockey_stick(epsilon, mu):
    expected = _hockey_stick(epsilon, mu)
    assert b.gdp_delta(epsilon, mu) == pytest.approx(expected, rel=1e-7, abs=1e-14)


def test_gdp_delta_stable_at_large_epsilon():
    mpmath.mp.dps = 60
    phi = mpmath.ncdf
    for epsilon, mu in [(20.0, 2.0), (40.0, 4.0), (8.0, 0.5)]:
        e, m = mpmath.mpf(epsilon), mpmath.mpf(mu)
        exact = phi(-e / m + m / 2) - mpmath.exp(e) * phi(-e / m - m / 2)
        assert b.gdp_delta(epsilon, mu) == pytest.approx(float(exact), rel=1e-9)


def test_gdp_delta_edges_and_broadcast():
    assert b.gdp_delta(np.inf, 2.0) == 0.0
    assert b.gdp_delta(3.0, 0.0) == 0.0
    assert b.gdp_delta(3.0, np.inf) == 1.0
    assert b.gdp_delta([0.0, 1.0], [[1.0], [2.0]]).shape == (2, 2)


@pytest.mark.parametrize("delta", [1e-10, 1e-5, 1e-2])
@pytest.mark.parametrize("mu", [0.2, 1.0, 5.0])
def test_gdp_inverses_round_trip(delta, mu):
    epsilon = b.gdp_epsilon(delta, mu)
    assert b.gdp_delta(epsilon, mu) == pytest.approx(delta, rel=1e-8)
    assert b.gdp_mu_from_epsilon(epsilon, delta) == pytest.approx(mu, rel=1e-8)
    assert b.gdp_epsilon(0.9, 0.1) == 0.0
    assert b.gdp_mu_from_epsilon(np.inf, delta) == np.inf


def test_gdp_epsilon_vectorized_and_mu_from_sigma():
    mu = b.gdp_mu(np.array([0.5, 1.0, 2.0]), steps=4)
    np.testing.assert_allclose(mu, [4.0, 2.0, 1.0])
    eps = b.gdp_epsilon(1e-5, mu)
    assert eps.shape == (3,) and np.all(np.diff(eps) < 0)


def test_rero_gdp_inverse_round_trip():
    kappa, success = 1 / np.arange(2, 50), 0.6
    mu = r.rero_gdp_inverse(kappa, success)
    np.testing.assert_allclose(r.rero_gdp(kappa, mu), success, rtol=1e-12)
    assert r.rero_gdp_inverse(0.1, 1.0) == np.inf


# --- the suite's prior-free bound for q < 1 ----------------------------------------------


def test_subsampled_reduces_to_full_batch():
    eta, sigma = np.array([0.05, 0.2, 1.0]), np.array([[0.5], [2.0]])
    full = b.mse_success_bound(eta, sigma, 30, 1.2, steps=17)
    sub = b.mse_success_bound_subsampled(eta, sigma, 30, 1.2, 1.0, 17)
    np.testing.assert_allclose(sub, full, rtol=1e-13)


def test_subsampled_truncation_matches_full_sum():
    steps, q, eta, sigma, dim = 400, 0.03, 0.4, 3.0, 8
    k = np.arange(1, steps + 1)
    terms = b.mse_success_bound(eta, sigma, dim, 1.0, steps=k)
    exact = np.sum(stats.binom.pmf(k, steps, q) * terms)
    assert b.mse_success_bound_subsampled(eta, sigma, dim, 1.0, q, steps) == pytest.approx(
        exact, abs=1e-12
    )


@pytest.mark.parametrize(("q", "steps", "sigma"), [(0.1, 20, 0.8), (0.5, 6, 1.5)])
def test_subsampled_bound_matches_simulation(q, steps, sigma):
    rng = np.random.default_rng(7)
    dim, trials, eta = 4, 6000, 0.3
    x = np.array([0.5, 0.6, 0.4, 0.4])
    sampled = rng.random((trials, steps)) < q  # Poisson sampling of the target per step
    copies = x + sigma * np.linalg.norm(x) * rng.standard_normal((trials, steps, dim))
    count = sampled.sum(axis=1)
    with np.errstate(invalid="ignore"):
        x_hat = (copies * sampled[..., None]).sum(axis=1) / count[:, None]
    success = (count > 0) & (np.mean((x_hat - x) ** 2, axis=1) <= eta)
    low, high = _cp_interval(success.sum(), trials)
    bound = b.mse_success_bound_subsampled(eta, sigma, dim, np.linalg.norm(x), q, steps)
    assert low <= bound <= high


def test_subsampled_monotone_and_non_private():
    bound = b.mse_success_bound_subsampled
    sig = np.array([0.0, 0.5, 1.0, 2.0, 4.0])
    values = bound(0.2, sig, 16, 1.0, 0.05, 100)
    assert values[0] == pytest.approx(1 - 0.95**100, abs=1e-12)
    assert np.all(np.diff(values) < 0)
    assert bound(0.2, 1.0, 16, 1.0, 0.05, 100) < bound(0.2, 1.0, 16, 1.0, 0.05, 101)
    assert bound(0.2, 1.0, 16, 1.0, 0.05, 100) < bound(0.2, 1.0, 16, 1.0, 0.06, 100)
    assert bound(0.2, 1.0, 16, 1.0, 0.05, 100) < bound(0.3, 1.0, 16, 1.0, 0.05, 100)


@settings(max_examples=25, deadline=None)
@given(gammas, etas, st.integers(1, 3072), st.floats(0.01, 1.0), st.integers(1, 500))
def test_subsampled_calibration_round_trip(gamma, eta, dim, q, steps):
    sigma = b.calibrate_sigma_mse_subsampled(gamma, eta, dim, 1.0, q, steps)
    seen = -np.expm1(steps * np.log1p(-q)) if q < 1 else 1.0  # as the function computes it
    if gamma >= seen:
        assert sigma == 0.0
    else:
        bound = b.mse_success_bound_subsampled(eta, sigma, dim, 1.0, q, steps)
        assert bound == pytest.approx(gamma, rel=1e-8)


def test_subsampled_psnr_consistent():
    got = b.psnr_success_bound_subsampled(20.0, 0.4, 9, 1.0, 0.2, 30, data_range=2.0)
    assert got == b.mse_success_bound_subsampled(4 * 10**-2, 0.4, 9, 1.0, 0.2, 30)


# --- ReRo ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kappa", "sigma", "q", "steps"),
    [(0.1, 1.0, 0.1, 100), (1 / 13, 0.8, 0.05, 200), (0.1, 2.0, 0.5, 50)],
)
def test_rero_mc_agrees_with_edgeworth(kappa, sigma, q, steps):
    est = r.rero_subsampled_mc(kappa, sigma, q, steps, n_samples=50_000, seed=3)
    assert est.ci_low <= est.estimate <= est.ci_high
    assert est.ci_high - est.ci_low < 0.03
    assert est.ci_low <= r.rero_subsampled_edgeworth(kappa, sigma, q, steps) <= est.ci_high


@pytest.mark.parametrize(("kappa", "sigma", "steps"), [(0.1, 3.0, 4), (1 / 13, 1.0, 1)])
def test_rero_mc_full_batch_is_gdp(kappa, sigma, steps):
    est = r.rero_subsampled_mc(kappa, sigma, 1.0, steps, n_samples=50_000)
    mu = np.sqrt(steps) / sigma
    assert est.ci_low <= r.rero_gdp(kappa, mu) <= est.ci_high
    assert r.rero_subsampled_edgeworth(kappa, sigma, 1.0, steps) == pytest.approx(
        r.rero_gdp(kappa, mu), abs=1e-9
    )


def test_rero_mc_single_step_closed_form():
    # T = 1: the loss is monotone in y, so the test thresholds y at sigma Phi^-1(1 - kappa).
    kappa, sigma, q = 0.1, 0.7, 0.3
    exact = (1 - q) * kappa + q * ndtr(ndtri(kappa) + 1 / sigma)
    est = r.rero_subsampled_mc(kappa, sigma, q, 1, n_samples=50_000, seed=5)
    assert est.ci_low <= exact <= est.ci_high


def test_rero_mc_monotone_in_sigma_and_non_private():
    est = [r.rero_subsampled_mc(0.1, s, 0.1, 50, n_samples=20_000) for s in (0.6, 1.0, 2.0)]
    assert est[0].ci_low > est[1].ci_high and est[1].ci_low > est[2].ci_high
    exact = r.rero_subsampled_mc(0.1, 0.0, 0.1, 5)
    assert exact.estimate == exact.ci_high == pytest.approx(0.1 + 0.9 * (1 - 0.9**5))
    assert r.rero_subsampled_edgeworth(0.1, 0.0, 0.1, 5) == exact.estimate
    with pytest.raises(dataclasses.FrozenInstanceError):
        exact.estimate = 0.0


def test_rero_glrt_weaker_than_gdp_and_closed_form_in_one_dim():
    from scipy import optimize

    kappa, sigma = np.array([0.01, 0.1, 0.5])[:, None], np.array([0.5, 1.0, 3.0])
    glrt = r.rero_glrt(kappa, sigma, dim=np.array([[[1]], [[10]]]), steps=4)
    assert np.all(glrt <= r.rero_gdp(kappa, 2 / sigma) + 1e-12)
    mu, z = 2 / sigma, ndtri(1 - kappa / 2)
    forward = ndtr(mu - z) + ndtr(-mu - z)  # d = 1: the two-sided z-test |Y| > c

    def reverse(k, m):  # |Y| < c at level k under the target, power 2 Phi(c) - 1 without
        c = optimize.brentq(lambda c: ndtr(c - m) - ndtr(-c - m) - k, 0, 50, xtol=1e-14)
        return 2 * ndtr(c) - 1

    rev = np.vectorize(reverse)(kappa, mu)
    np.testing.assert_allclose(glrt[0], np.maximum(forward, rev), rtol=1e-9)


def test_rero_glrt_is_study_c_max_of_forward_and_reverse():
    # Study C (FromMeanToExtreme, rero_bound_glrt_without_subsampling) at kappa 0.5, d 1,
    # sigma 0.66: forward 0.81401, reverse 0.87103; the bound is the larger.
    assert r.rero_glrt(0.5, 0.66, 1) == pytest.approx(0.8710316974801009, rel=1e-9)
    forward = stats.ncx2.sf(stats.chi2.isf(0.5, 1), 1, 1 / 0.66**2)
    assert forward == pytest.approx(0.8140064087914611, rel=1e-9)
    assert r.rero_glrt(0.5, 0.66, 1) - forward == pytest.approx(0.057, abs=5e-4)


def test_rero_glrt_matches_simulation():
    rng = np.random.default_rng(11)
    kappa, sigma, dim, steps, trials = 0.3, 2.0, 3, 9, 40_000
    noise = sigma / np.sqrt(steps) * rng.standard_normal((2, trials, dim))
    signal = np.zeros(dim)
    signal[1] = 1.0  # unit sensitivity, direction unknown to the test
    stat_null = steps * np.sum(noise[0] ** 2, axis=1) / sigma**2
    stat_alt = steps * np.sum((noise[1] + signal) ** 2, axis=1) / sigma**2
    nc = steps / sigma**2
    forward = np.sum(stat_alt > stats.chi2.isf(kappa, dim))  # level kappa under no target
    reverse = np.sum(stat_null < stats.ncx2.ppf(kappa, dim, nc))  # level kappa under target
    assert _cp_interval(np.sum(stat_null > stats.chi2.isf(kappa, dim)), trials)[0] <= kappa
    best = max(forward, reverse)
    low, high = _cp_interval(best, trials)
    assert low <= r.rero_glrt(kappa, sigma, dim, steps) <= high


# --- input validation ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fn", "args", "name"),
    [
        (b.mse_success_bound, (0.1, -1.0, 4, 1.0), "sigma"),
        (b.mse_success_bound, (0.1, 1.0, 0, 1.0), "dim"),
        (b.mse_success_bound, (0.1, 1.0, 4, 1.0, 0), "steps"),
        (b.mse_success_bound, (-0.1, 1.0, 4, 1.0), "eta"),
        (b.mse_success_bound, (0.1, 1.0, 4, 0.0), "norm"),
        (b.calibrate_sigma_mse, (1.5, 0.1, 4, 1.0), "gamma"),
        (b.mse_success_bound_subsampled, (0.1, 1.0, 4, 1.0, 0.0, 10), "sample_rate"),
        (b.mse_success_bound_subsampled, (0.1, 1.0, 4, 1.0, 1.5, 10), "sample_rate"),
        (b.mse_success_bound_subsampled, (0.1, 1.0, 4, 1.0, 0.5, 2.5), "steps"),
        (b.calibrate_sigma_mse_subsampled, (0.1, 0.1, 4, 1.0, [0.1, 0.2], 10), "sample_rate"),
        (r.rero_gdp, (1.0, 1.0), "kappa"),
        (r.rero_gdp, (0.0, 1.0), "kappa"),
        (r.rero_gdp_inverse, (0.5, 0.2), "success"),
        (b.gdp_delta, (-1.0, 1.0), "epsilon"),
        (b.gdp_epsilon, (1e-5, -1.0), "mu"),
        (r.rero_subsampled_mc, (0.1, -1.0, 0.1, 10), "sigma"),
        (r.rero_subsampled_edgeworth, (0.1, 1.0, 0.1, 0), "steps"),
        (r.rero_glrt, (0.1, 1.0, 0), "dim"),
    ],
)
def test_invalid_input_names_the_argument(fn, args, name):
    with pytest.raises(ValueError, match=name):
        fn(*args)
