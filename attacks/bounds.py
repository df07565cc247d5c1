"""Formal bounds on reconstruction success under DP-SGD (numpy/scipy only, float64).

Two threat models (see ``docs/bounds.md``):

* Prior-free reconstruction (Riess et al., arXiv 2402.12861): an adversary who controls the
  model reads X_hat ~ N(X, sigma_eff^2 ||X||^2 I_N) from the noisy gradient, so the MSE is a
  scaled chi-square and its success probabilities are regularized incomplete gamma functions.
* Identification, ReRo (Balle, Cherubin, Hayes 2022; Hayes, Mahloujifar, Balle 2023; Kaissis
  et al., arXiv 2307.03928): success of picking the target among n = 1/kappa candidates is at
  most the power of the Neyman-Pearson test at level kappa.

Array arguments broadcast where a bound is a closed form; ``sigma = 0`` means non-private.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.polynomial import hermite_e
from scipy import integrate, optimize
from scipy.special import gammainc, gammaincinv, log_ndtr, ndtr, ndtri
from scipy.stats import beta, binom, chi2, ncx2

__all__ = [
    "ReroEstimate",
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
    "rero_gdp",
    "rero_gdp_inverse",
    "rero_glrt",
    "rero_subsampled_edgeworth",
    "rero_subsampled_mc",
]

# Binomial mass left out of the K-sum on each side; every term is in [0, 1], so the error of
# the subsampled bound is at most twice this.
_TAIL = 1e-13
_RULES = {
    "nonneg": (lambda a: a >= 0, ">= 0"),
    "pos": (lambda a: a > 0, "> 0"),
    "count": (lambda a: (a >= 1) & np.isfinite(a) & (a == np.floor(a)), "an integer >= 1"),
    "open_unit": (lambda a: (a > 0) & (a < 1), "in (0, 1)"),
    "unit": (lambda a: (a >= 0) & (a <= 1), "in [0, 1]"),
    "rate": (lambda a: (a > 0) & (a <= 1), "in (0, 1]"),
}


def _check(name, value, rule):
    """Return ``value`` as a float64 array, raising ValueError unless it obeys ``rule``."""
    arr = np.asarray(value, dtype=float)
    ok, text = _RULES[rule]
    if not np.all(ok(arr)):
        raise ValueError(f"{name} must be {text}, got {value!r}")
    return arr


def _scalar(name, value, rule):
    arr = _check(name, value, rule)
    if arr.ndim:
        raise ValueError(f"{name} must be a scalar, got shape {arr.shape}")
    return arr.item()


def _mse_cdf(eta, var, dim, norm):
    """P[MSE <= eta] for X_hat ~ N(X, var ||X||^2 I_dim); var = 0 reconstructs X exactly."""
    with np.errstate(divide="ignore", invalid="ignore"):
        x = dim * eta / (2.0 * var * norm**2)
    return np.where(var == 0, 1.0, gammainc(dim / 2.0, x))


def _psnr_to_mse(rho, data_range):
    return _check("data_range", data_range, "pos") ** 2 * 10.0 ** (-np.asarray(rho, float) / 10)


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
    eta, sigma = _check("eta", eta, "nonneg"), _check("sigma", sigma, "nonneg")
    dim, norm = _check("dim", dim, "count"), _check("norm", norm, "pos")
    steps = _check("steps", steps, "count")
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
    p, sigma = _check("p", p, "unit"), _check("sigma", sigma, "nonneg")
    dim, norm = _check("dim", dim, "count"), _check("norm", norm, "pos")
    steps = _check("steps", steps, "count")
    return (gammaincinv(dim / 2, p) * 2 * sigma**2 * norm**2 / (dim * steps))[()]


def expected_mse(sigma, norm, steps=1):
    """Mean MSE of the prior-free attack, sigma^2 ||X||^2 / steps.

    Example:
        >>> float(expected_mse(2.0, 1.0, steps=4))
        1.0
    """
    sigma, norm = _check("sigma", sigma, "nonneg"), _check("norm", norm, "pos")
    return (sigma**2 * norm**2 / _check("steps", steps, "count"))[()]


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
    gamma, eta = _check("gamma", gamma, "unit"), _check("eta", eta, "pos")
    dim, norm = _check("dim", dim, "count"), _check("norm", norm, "pos")
    steps = _check("steps", steps, "count")
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
    eta, sigma = _check("eta", eta, "nonneg"), _check("sigma", sigma, "nonneg")
    dim, norm = _check("dim", dim, "count"), _check("norm", norm, "pos")
    q = _scalar("sample_rate", sample_rate, "rate")
    k, weight = _binom_support(int(_scalar("steps", steps, "count")), q)
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
    gamma, eta = _scalar("gamma", gamma, "unit"), _scalar("eta", eta, "pos")
    dim, norm = _scalar("dim", dim, "count"), _scalar("norm", norm, "pos")
    q, steps = _scalar("sample_rate", sample_rate, "rate"), int(_scalar("steps", steps, "count"))
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
    sigma, steps = _check("sigma", sigma, "nonneg"), _check("steps", steps, "count")
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
    eps, mu = np.broadcast_arrays(_check("epsilon", epsilon, "nonneg"), _check("mu", mu, "nonneg"))
    with np.errstate(divide="ignore", invalid="ignore"):
        log_a = log_ndtr(-eps / mu + mu / 2)
        log_ratio = eps + log_ndtr(-eps / mu - mu / 2) - log_a
        delta = -np.exp(log_a) * np.expm1(log_ratio)
    delta = np.where(np.isinf(mu) & np.isfinite(eps), 1.0, delta)
    return np.where((mu == 0) | np.isinf(eps), 0.0, delta)[()]


def _gdp_epsilon_scalar(delta, mu):
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
    delta, mu = _check("delta", delta, "unit"), _check("mu", mu, "nonneg")
    return np.vectorize(_gdp_epsilon_scalar, otypes=[float])(delta, mu)[()]


def _gdp_mu_scalar(epsilon, delta):
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
    epsilon, delta = _check("epsilon", epsilon, "nonneg"), _check("delta", delta, "unit")
    return np.vectorize(_gdp_mu_scalar, otypes=[float])(epsilon, delta)[()]


def rero_gdp(kappa, mu):
    """ReRo bound of mu-GDP: success <= Phi(Phi^-1(kappa) + mu), kappa = 1/n the baseline.

    Example:
        >>> round(float(rero_gdp(1 / 13, 1.0)), 5)
        0.33503
    """
    kappa, mu = _check("kappa", kappa, "open_unit"), _check("mu", mu, "nonneg")
    return ndtr(ndtri(kappa) + mu)[()]


def rero_gdp_inverse(kappa, success):
    """The mu with rero_gdp(kappa, mu) == success: Phi^-1(success) - Phi^-1(kappa).

    Args:
        kappa: Baseline success in (0, 1).
        success: Tolerated success in [kappa, 1] (1 gives inf).

    Returns:
        mu, broadcast over the arguments; convert with sigma = sqrt(T) / mu.

    Example:
        >>> round(float(rero_gdp_inverse(1 / 13, 0.33503)), 4)
        1.0
    """
    kappa, success = _check("kappa", kappa, "open_unit"), _check("success", success, "unit")
    if np.any(success < kappa):
        raise ValueError(f"success must be >= kappa (no mu >= 0 goes below it), got {success!r}")
    return (ndtri(success) - ndtri(kappa))[()]


@dataclass(frozen=True)
class ReroEstimate:
    """Monte Carlo estimate of a ReRo bound with its confidence interval.

    Attributes:
        estimate: Point estimate of the Neyman-Pearson power.
        ci_low: Lower end of the interval for the exact power.
        ci_high: Upper end; quote this as the bound.
        n_samples: Samples drawn under each hypothesis.
        confidence: Coverage of [ci_low, ci_high] (Monte Carlo error only).
    """

    estimate: float
    ci_low: float
    ci_high: float
    n_samples: int
    confidence: float


def _rero_args(kappa, sigma, sample_rate, steps):
    kappa, sigma = _scalar("kappa", kappa, "open_unit"), _scalar("sigma", sigma, "nonneg")
    q, steps = _scalar("sample_rate", sample_rate, "rate"), int(_scalar("steps", steps, "count"))
    return kappa, sigma, q, steps


def _rero_nonprivate(kappa, q, steps):
    """sigma = 0: reject whenever the target shows (P has no such atom), else at rate kappa."""
    missed = (1 - q) ** steps
    return 1 - missed + missed * kappa


def _step_loss(y, sigma, q):
    """Privacy loss log dQ/dP(y) of one step, P = N(0, s^2), Q = (1-q) N(0, s^2) + q N(1, s^2)."""
    with np.errstate(divide="ignore"):
        return np.logaddexp(np.log1p(-q), np.log(q) + (2 * y - 1) / (2 * sigma**2))


def _loss_sums(rng, sigma, q, steps, n, under_q):
    """n draws of the T-step privacy loss under Q (``under_q``) or P, one step at a time."""
    total = np.zeros(n)
    for _ in range(steps):
        y = sigma * rng.standard_normal(n)
        if under_q:
            y += rng.random(n) < q
        total += _step_loss(y, sigma, q)
    return total


def _np_power(loss_p, loss_q, kappa):
    """Power at level kappa of the test rejecting for large loss, randomized on ties."""
    t = np.quantile(loss_p, 1 - kappa, method="inverted_cdf")
    above, tied = np.mean(loss_p > t), np.mean(loss_p == t)
    tie_rate = (kappa - above) / tied if tied else 0.0
    return np.mean(loss_q > t) + tie_rate * np.mean(loss_q == t)


def _mc_interval(loss_p, loss_q, kappa, alpha):
    """Interval holding the exact power with probability >= 1 - alpha (union bound)."""
    n, srt = loss_p.size, np.sort(loss_p)
    # Order-statistic interval [t_lo, t_hi] for the (1 - kappa) quantile at alpha / 2.
    lo = int(binom.ppf(alpha / 4, n, 1 - kappa))
    hi = int(binom.isf(alpha / 4, n, 1 - kappa)) + 1
    t_lo = srt[lo - 1] if lo >= 1 else -np.inf
    t_hi = srt[hi - 1] if hi <= n else np.inf
    # Power is decreasing in the threshold; Clopper-Pearson at each end at alpha / 4.
    up, down = np.sum(loss_q >= t_lo), np.sum(loss_q > t_hi)
    high = 1.0 if up == n else beta.ppf(1 - alpha / 4, up + 1, n - up)
    low = 0.0 if down == 0 else beta.ppf(alpha / 4, down, n - down + 1)
    return float(low), float(high)


def rero_subsampled_mc(
    kappa, sigma, sample_rate, steps, n_samples=100_000, confidence=0.95, seed=0
) -> ReroEstimate:
    """Tight ReRo bound of the Poisson-subsampled Gaussian over T steps, by Monte Carlo.

    The bound (Hayes, Mahloujifar, Balle 2023) is the power at level kappa of the
    Neyman-Pearson test between P = N(0, sigma^2)^T and
    Q = ((1-q) N(0, sigma^2) + q N(1, sigma^2))^T. The privacy loss L = log dQ/dP is sampled
    n_samples times under P (threshold: its (1 - kappa) quantile) and, independently, under Q
    (power); ties at the threshold are randomized. The interval covers the exact power with
    probability >= confidence and states Monte Carlo error only: a distribution-free
    order-statistic interval for the threshold (alpha/2) with one-sided Clopper-Pearson bounds
    on the power at its two ends (alpha/4 each), joined by a union bound.

    Args:
        kappa: Baseline success 1/n in (0, 1).
        sigma: Noise multiplier (>= 0; 0 is exact, no sampling).
        sample_rate: Poisson sampling rate q in (0, 1].
        steps: Number of steps T.
        n_samples: Samples per hypothesis.
        confidence: Coverage of the interval, in (0, 1).
        seed: Seed of numpy's default generator.

    Returns:
        A ReroEstimate.

    Example:
        >>> est = rero_subsampled_mc(0.1, 1.0, 1.0, 1, n_samples=20_000)
        >>> est.ci_low <= float(rero_gdp(0.1, 1.0)) <= est.ci_high
        True
    """
    kappa, sigma, q, steps = _rero_args(kappa, sigma, sample_rate, steps)
    n = int(_scalar("n_samples", n_samples, "count"))
    alpha = 1 - _scalar("confidence", confidence, "open_unit")
    if sigma == 0:
        exact = _rero_nonprivate(kappa, q, steps)
        return ReroEstimate(exact, exact, exact, n, 1 - alpha)
    rng = np.random.default_rng(seed)
    loss_p = _loss_sums(rng, sigma, q, steps, n, under_q=False)
    loss_q = _loss_sums(rng, sigma, q, steps, n, under_q=True)
    low, high = _mc_interval(loss_p, loss_q, kappa, alpha)
    return ReroEstimate(float(_np_power(loss_p, loss_q, kappa)), low, high, n, 1 - alpha)


def _expect(fn, sigma, q, shift, tol):
    """E[fn(L(shift + sigma U))], U ~ N(0, 1), by adaptive quadrature to absolute ``tol``."""

    def integrand(u):
        return fn(_step_loss(shift + sigma * u, sigma, q)) * np.exp(-u * u / 2)

    value = integrate.quad(integrand, -16, 16, epsabs=tol, epsrel=1e-12, limit=400)[0]
    return value / np.sqrt(2 * np.pi)


def _step_cumulants(sigma, q, under_q):
    """Cumulants 1..5 of the one-step privacy loss under Q (``under_q``) or P."""
    parts = [(1 - q, 0.0), (q, 1.0)] if under_q else [(1.0, 0.0)]

    def moment(fn, tol=1e-15):
        return sum(w * _expect(fn, sigma, q, shift, tol) for w, shift in parts if w > 0)

    mean = moment(lambda x: x)
    m2 = moment(lambda x: (x - mean) ** 2)
    # Odd central moments may vanish (q = 1), so their tolerance is set by the scale.
    m3, m4, m5 = (moment(lambda x, j=j: (x - mean) ** j, 1e-12 * m2 ** (j / 2)) for j in (3, 4, 5))
    return np.array([mean, m2, m3, m4 - 3 * m2**2, m5 - 10 * m3 * m2])


def _edgeworth_cdf(x, lam3, lam4, lam5):
    """Edgeworth CDF of a standardized sum to O(T^-3/2) (standardized cumulants 3-5)."""
    coef = np.zeros(9)
    coef[2] = lam3 / 6
    coef[3] = lam4 / 24
    coef[4] = lam5 / 120
    coef[5] = lam3**2 / 72
    coef[6] = lam3 * lam4 / 144
    coef[8] = lam3**3 / 1296
    return ndtr(x) - np.exp(-x * x / 2) / np.sqrt(2 * np.pi) * hermite_e.hermeval(x, coef)


def _edgeworth_parts(sigma, q, steps, under_q):
    """Mean, std and standardized cumulants 3..5 of the T-step privacy-loss sum."""
    cum = steps * _step_cumulants(sigma, q, under_q)
    std = np.sqrt(cum[1])
    return cum[0], std, cum[2] / std**3, cum[3] / std**4, cum[4] / std**5


def rero_subsampled_edgeworth(kappa, sigma, sample_rate, steps):
    """The tight subsampled ReRo bound of rero_subsampled_mc by an Edgeworth expansion.

    Following Kaissis et al. (arXiv 2307.03928): cumulants 1-5 of the one-step privacy loss
    under P and under Q come from quadrature and add over the T steps; the Edgeworth-corrected
    CDF (Hermite terms of orders T^-1/2, T^-1 and T^-3/2) gives the level-kappa threshold under
    P and the power under Q. An approximation: use T >= 30 and q T well above 1 (at
    sigma = 0.5, q = 0.001, T = 1000 it gives 0.29 where the exact power is about 0.15, as the
    loss sum is then dominated by the rare steps that include the target); q = 1 is exact.

    Args:
        kappa: Baseline success 1/n in (0, 1).
        sigma: Noise multiplier (>= 0; 0 is exact).
        sample_rate: Poisson sampling rate q in (0, 1].
        steps: Number of steps T.

    Returns:
        The approximate power, clipped to [kappa, 1].

    Example:
        >>> round(rero_subsampled_edgeworth(1 / 13, 1.0, 1.0, 1), 5)
        0.33503
    """
    kappa, sigma, q, steps = _rero_args(kappa, sigma, sample_rate, steps)
    if sigma == 0:
        return _rero_nonprivate(kappa, q, steps)
    mean_p, std_p, *lam_p = _edgeworth_parts(sigma, q, steps, under_q=False)
    mean_q, std_q, *lam_q = _edgeworth_parts(sigma, q, steps, under_q=True)
    z = optimize.brentq(lambda x: _edgeworth_cdf(x, *lam_p) - (1 - kappa), -12, 12, xtol=1e-13)
    power = 1 - _edgeworth_cdf((mean_p + std_p * z - mean_q) / std_q, *lam_q)
    return float(np.clip(power, kappa, 1.0))


def rero_glrt(kappa, sigma, dim, steps=1):
    """ReRo success of a direction-agnostic GLRT adversary (chi-square test).

    Threat model: the adversary sees Y in R^d (d = dim), the average of ``steps`` full-batch
    noisy updates, Y ~ N(0, sigma^2/T I_d) without the target and N(v, sigma^2/T I_d) with it,
    where ||v|| = 1 (unit sensitivity) but the direction of v is unknown. It rejects when
    T ||Y||^2 / sigma^2 exceeds the (1 - kappa) quantile of chi2_d; the power is the
    noncentral chi2_d tail with noncentrality T / sigma^2. Never above rero_gdp(kappa, mu).

    Args:
        kappa: Baseline success 1/n in (0, 1).
        sigma: Noise multiplier (>= 0; 0 gives 1).
        dim: Dimension d of the observation.
        steps: Number of full-batch steps T.

    Returns:
        The success probability, broadcast over the arguments.

    Example:
        >>> round(float(rero_glrt(0.05, 1.0, 1)), 4)
        0.1701
    """
    kappa, sigma = _check("kappa", kappa, "open_unit"), _check("sigma", sigma, "nonneg")
    dim, steps = _check("dim", dim, "count"), _check("steps", steps, "count")
    with np.errstate(divide="ignore", invalid="ignore"):
        power = ncx2.sf(chi2.isf(kappa, dim), dim, steps / sigma**2)
    return np.where(sigma == 0, 1.0, power)[()]
