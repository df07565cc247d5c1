"""Formal bounds on reconstruction success under DP-SGD (numpy/scipy only, float64).

Two threat models (see ``docs/bounds.md``):

* Prior-free reconstruction (Riess et al., arXiv 2402.12861): an adversary who controls the
  model reads X_hat ~ N(X, sigma_eff^2 ||X||^2 I_N) from the noisy gradient, so the MSE is a
  scaled chi-square and its success probabilities are regularized incomplete gamma functions.
* Identification, ReRo: in :mod:`bench.privacy.bounds.rero`.

The GDP <-> (epsilon, delta) conversions live here, shared by both.

Array arguments broadcast where a bound is a closed form; ``sigma = 0`` means non-private.
"""

from __future__ import annotations

import numpy as np

from bench.privacy.bounds._args import check, scalar

# scipy.special's own ufuncs, loaded without the package's import (0.6 s; scipy_light)
from bench.privacy.scipy_light import gammainc, gammaincinv, log_ndtr, ndtri

__all__ = [
    "calibrate_sigma_mse",
    "calibrate_sigma_mse_subsampled",
    "calibrate_sigma_psnr",
    "expected_mse",
    "gdp_delta",
    "gdp_epsilon",
    "gdp_mu",
    "gdp_mu_from_epsilon",
    "mse_quantile",
    "mse_success_bound",
    "mse_success_bound_subsampled",
    "psnr_success_bound",
    "psnr_success_bound_subsampled",
]

# Binomial mass left out of the K-sum on each side; every term is in [0, 1], so the error of
# the subsampled bound is at most twice this.
_TAIL = 1e-13


def _mse_cdf(eta, var, dim, norm):
    """P[MSE <= eta] for X_hat ~ N(X, var ||X||^2 I_dim); var = 0 reconstructs X exactly."""
    with np.errstate(divide="ignore", invalid="ignore"):
        x = dim * eta / (2.0 * var * norm**2)
    return np.where(var == 0, 1.0, gammainc(dim / 2.0, x))


def _psnr_to_mse(rho, data_range):
    return check("data_range", data_range, "pos") ** 2 * 10.0 ** (-np.asarray(rho, float) / 10)


def mse_success_bound(eta, sigma, dim, norm, steps=1):
    """Prior-free bound P[MSE <= eta] of the optimal attack (Riess et al.).

    The attack yields X_hat ~ N(X, sigma_eff^2 ||X||^2 I_N) with sigma_eff = sigma / sqrt(steps)
    (``steps`` full-batch copies, q = 1), hence
    P[MSE <= eta] = P(N/2, N eta / (2 sigma_eff^2 ||X||^2)).

    Args:
        eta: MSE threshold (>= 0).
        sigma: Noise multiplier (>= 0; 0 means non-private and gives 1).
        dim: Number of entries N of the target.
        norm: L2 norm ||X|| of the target (> 0).
        steps: Number of full-batch steps that observe the target.

    Returns:
        The success probability, broadcast over the arguments.

    Example:
        >>> round(float(mse_success_bound(0.1, 1.0, 1, 1.0)), 5)
        0.24817
    """
    eta, sigma = check("eta", eta, "nonneg"), check("sigma", sigma, "nonneg")
    dim, norm = check("dim", dim, "count"), check("norm", norm, "pos")
    steps = check("steps", steps, "count")
    return _mse_cdf(eta, sigma**2 / steps, dim, norm)[()]


def psnr_success_bound(rho, sigma, dim, norm, data_range=1.0, steps=1):
    """Prior-free bound P[PSNR >= rho], i.e. P[MSE <= R^2 10^(-rho/10)].

    Args:
        rho: PSNR threshold in dB.
        sigma: Noise multiplier (>= 0).
        dim: Number of entries N of the target.
        norm: L2 norm of the target (> 0).
        data_range: Data range R used in the PSNR.
        steps: Number of full-batch steps that observe the target.

    Returns:
        The success probability, broadcast over the arguments.

    Example:
        >>> round(float(psnr_success_bound(10.0, 1.0, 1, 1.0)), 5)
        0.24817
    """
    return mse_success_bound(_psnr_to_mse(rho, data_range), sigma, dim, norm, steps)


def mse_quantile(p, sigma, dim, norm, steps=1):
    """The p-quantile of the attack's MSE, distributed Gamma(N/2, scale 2 sigma_eff^2 ||X||^2/N).

    Args:
        p: Probability in [0, 1].
        sigma: Noise multiplier (>= 0).
        dim: Number of entries N of the target.
        norm: L2 norm of the target (> 0).
        steps: Number of full-batch steps that observe the target.

    Returns:
        The MSE below which the attack lands with probability p.

    Example:
        >>> round(float(mse_quantile(0.24817, 1.0, 1, 1.0)), 4)
        0.1
    """
    p, sigma = check("p", p, "unit"), check("sigma", sigma, "nonneg")
    dim, norm = check("dim", dim, "count"), check("norm", norm, "pos")
    steps = check("steps", steps, "count")
    return (gammaincinv(dim / 2, p) * 2 * sigma**2 * norm**2 / (dim * steps))[()]


def expected_mse(sigma, norm, steps=1):
    """Mean MSE of the prior-free attack, sigma^2 ||X||^2 / steps.

    Example:
        >>> float(expected_mse(2.0, 1.0, steps=4))
        1.0
    """
    sigma, norm = check("sigma", sigma, "nonneg"), check("norm", norm, "pos")
    return (sigma**2 * norm**2 / check("steps", steps, "count"))[()]


def calibrate_sigma_mse(gamma, eta, dim, norm, steps=1):
    """Smallest sigma with P[MSE <= eta] <= gamma (the bound is decreasing in sigma).

    sigma = sqrt(N eta steps / (2 ||X||^2 P^-1(N/2, gamma))); over a data set pass the
    smallest norm.

    Args:
        gamma: Tolerated success probability in [0, 1] (1 gives 0, 0 gives inf).
        eta: MSE threshold (> 0).
        dim: Number of entries N of the target.
        norm: L2 norm of the target (> 0).
        steps: Number of full-batch steps that observe the target.

    Returns:
        The noise multiplier, broadcast over the arguments.

    Example:
        >>> round(float(calibrate_sigma_mse(0.24817, 0.1, 1, 1.0)), 4)
        1.0
    """
    gamma, eta = check("gamma", gamma, "unit"), check("eta", eta, "pos")
    dim, norm = check("dim", dim, "count"), check("norm", norm, "pos")
    steps = check("steps", steps, "count")
    with np.errstate(divide="ignore"):
        return np.sqrt(dim * eta * steps / (2 * norm**2 * gammaincinv(dim / 2, gamma)))[()]


def calibrate_sigma_psnr(gamma, rho, dim, norm, data_range=1.0, steps=1):
    """Smallest sigma with P[PSNR >= rho] <= gamma.

    Example:
        >>> round(float(calibrate_sigma_psnr(0.24817, 10.0, 1, 1.0)), 4)
        1.0
    """
    return calibrate_sigma_mse(gamma, _psnr_to_mse(rho, data_range), dim, norm, steps)


def _binom_support(steps, q):
    """k >= 1 and Binomial(steps, q) weights, dropping at most 2 * _TAIL of mass."""
    # scipy.stats.binom's numbers from its boost ufuncs: scipy.stats takes ~2 s to import
    from bench.privacy.scipy_light import stats

    binom = stats.binom
    lo = max(int(binom.ppf(_TAIL, steps, q)), 1)
    hi = max(int(binom.isf(_TAIL, steps, q)), lo)
    k = np.arange(lo, hi + 1, dtype=float)
    return k, binom.pmf(k, steps, q)


def mse_success_bound_subsampled(eta, sigma, dim, norm, sample_rate, steps):
    """Prior-free bound P[MSE <= eta] for Poisson rate q over T steps (the suite's derivation).

    K ~ Binomial(T, q) steps observe the target; given K = k >= 1 the adversary averages k
    copies (noise sigma / sqrt(k)); K = 0 counts as failure (no observation, no prior):
    sum_k Binom(k; T, q) P(N/2, N eta k / (2 sigma^2 ||X||^2)), exact to 1e-12.

    Args:
        eta: MSE threshold (>= 0).
        sigma: Noise multiplier (>= 0; 0 gives 1 - (1 - q)^T).
        dim: Number of entries N of the target.
        norm: L2 norm of the target (> 0).
        sample_rate: Poisson sampling rate q in (0, 1] (scalar).
        steps: Number of steps T (scalar).

    Returns:
        The success probability, broadcast over eta, sigma, dim and norm.

    Example:
        >>> round(float(mse_success_bound_subsampled(0.1, 1.0, 1, 1.0, 1.0, 1)), 5)
        0.24817
    """
    eta, sigma = check("eta", eta, "nonneg"), check("sigma", sigma, "nonneg")
    dim, norm = check("dim", dim, "count"), check("norm", norm, "pos")
    q = scalar("sample_rate", sample_rate, "rate")
    k, weight = _binom_support(int(scalar("steps", steps, "count")), q)
    terms = _mse_cdf(eta[..., None], sigma[..., None] ** 2 / k, dim[..., None], norm[..., None])
    return (terms @ weight)[()]


def psnr_success_bound_subsampled(rho, sigma, dim, norm, sample_rate, steps, data_range=1.0):
    """Subsampled prior-free bound on P[PSNR >= rho] (see mse_success_bound_subsampled).

    Example:
        >>> round(float(psnr_success_bound_subsampled(10.0, 1.0, 1, 1.0, 1.0, 1)), 5)
        0.24817
    """
    eta = _psnr_to_mse(rho, data_range)
    return mse_success_bound_subsampled(eta, sigma, dim, norm, sample_rate, steps)


def calibrate_sigma_mse_subsampled(gamma, eta, dim, norm, sample_rate, steps):
    """Smallest sigma with mse_success_bound_subsampled <= gamma (scalar, by brentq).

    Returns 0 when gamma >= 1 - (1 - q)^T, the success of a non-private attack under the
    K = 0 convention. The root is bracketed by the q = 1 formula with k = 1 and k = T copies.

    Example:
        >>> round(calibrate_sigma_mse_subsampled(0.24817, 0.1, 1, 1.0, 1.0, 1), 4)
        1.0
    """
    from bench.privacy.scipy_light import optimize  # scipy's brentq, without scipy.optimize

    gamma, eta = scalar("gamma", gamma, "unit"), scalar("eta", eta, "pos")
    dim, norm = scalar("dim", dim, "count"), scalar("norm", norm, "pos")
    q, steps = scalar("sample_rate", sample_rate, "rate"), int(scalar("steps", steps, "count"))
    seen = -np.expm1(steps * np.log1p(-q)) if q < 1 else 1.0
    if gamma >= seen or gamma == 0:
        return 0.0 if gamma >= seen else float("inf")

    def excess(sigma):
        return float(mse_success_bound_subsampled(eta, sigma, dim, norm, q, steps)) - gamma

    # One copy seen with probability P[K >= 1], and T copies, bound the K-mixture either side.
    lo = float(calibrate_sigma_mse(gamma / seen, eta, dim, norm, steps=1))
    hi = float(calibrate_sigma_mse(gamma, eta, dim, norm, steps=steps))
    if excess(lo) <= 0 or excess(hi) >= 0:  # rounding in a bracket that is already tight
        return lo if excess(lo) <= 0 else hi
    return optimize.brentq(excess, lo, hi, xtol=1e-14, rtol=1e-13)


def gdp_mu(sigma, steps=1):
    """GDP parameter of ``steps`` full-batch Gaussian steps (q = 1): mu = sqrt(T) / sigma.

    Example:
        >>> float(gdp_mu(2.0, steps=4)), float(gdp_mu(0.0))
        (1.0, inf)
    """
    sigma, steps = check("sigma", sigma, "nonneg"), check("steps", steps, "count")
    with np.errstate(divide="ignore"):
        return (np.sqrt(steps) / sigma)[()]


def gdp_delta(epsilon, mu):
    """Exact delta(epsilon) of mu-GDP: Phi(-eps/mu + mu/2) - e^eps Phi(-eps/mu - mu/2).

    Computed as Phi(a) (1 - exp(eps + log Phi(b) - log Phi(a))) with log_ndtr, which keeps
    relative precision when both terms are tiny (large eps).

    Args:
        epsilon: Privacy parameter (>= 0; inf gives 0).
        mu: GDP parameter (>= 0; 0 gives 0, inf gives 1 for finite epsilon).

    Returns:
        delta, broadcast over the arguments.

    Example:
        >>> round(float(gdp_delta(1.0, 1.0)), 6)
        0.126937
    """
    eps, mu = np.broadcast_arrays(check("epsilon", epsilon, "nonneg"), check("mu", mu, "nonneg"))
    with np.errstate(divide="ignore", invalid="ignore"):
        log_a = log_ndtr(-eps / mu + mu / 2)
        log_ratio = eps + log_ndtr(-eps / mu - mu / 2) - log_a
        delta = -np.exp(log_a) * np.expm1(log_ratio)
    delta = np.where(np.isinf(mu) & np.isfinite(eps), 1.0, delta)
    return np.where((mu == 0) | np.isinf(eps), 0.0, delta)[()]


def _gdp_epsilon_scalar(delta, mu):
    from bench.privacy.scipy_light import optimize

    if gdp_delta(0.0, mu) <= delta:
        return 0.0
    if delta == 0 or np.isinf(mu):
        return float("inf")
    hi = mu * (mu / 2 - ndtri(delta))  # Phi(-hi/mu + mu/2) = delta, so delta(hi) < delta
    return optimize.brentq(lambda e: gdp_delta(e, mu) - delta, 0.0, hi, xtol=1e-13, rtol=1e-13)


def gdp_epsilon(delta, mu):
    """Smallest epsilon with gdp_delta(epsilon, mu) <= delta (brentq; 0 if mu is small enough).

    Example:
        >>> round(float(gdp_epsilon(0.126937, 1.0)), 4)
        1.0
    """
    delta, mu = check("delta", delta, "unit"), check("mu", mu, "nonneg")
    return np.vectorize(_gdp_epsilon_scalar, otypes=[float])(delta, mu)[()]


def _gdp_mu_scalar(epsilon, delta):
    from bench.privacy.scipy_light import optimize

    if np.isinf(epsilon) or delta == 1:
        return float("inf")
    if delta == 0:
        return 0.0
    hi = 1.0
    while gdp_delta(epsilon, hi) < delta:  # delta(eps, mu) -> 1 as mu -> inf
        hi *= 2
    return optimize.brentq(lambda m: gdp_delta(epsilon, m) - delta, 0.0, hi, xtol=1e-14)


def gdp_mu_from_epsilon(epsilon, delta):
    """The mu with gdp_delta(epsilon, mu) == delta, i.e. the largest mu that is (eps, delta)-DP.

    Example:
        >>> round(float(gdp_mu_from_epsilon(1.0, 0.126937)), 4)
        1.0
        >>> float(gdp_mu_from_epsilon(np.inf, 1e-5))
        inf
    """
    epsilon, delta = check("epsilon", epsilon, "nonneg"), check("delta", delta, "unit")
    return np.vectorize(_gdp_mu_scalar, otypes=[float])(epsilon, delta)[()]
