"""ReRo bounds: success of identifying a DP-SGD training record among n candidates.

Identification (Balle, Cherubin, Hayes 2022; Hayes, Mahloujifar, Balle 2023; Kaissis et
al., arXiv 2307.03928): success of picking the target among n = 1/kappa candidates is at
most the power of the Neyman-Pearson test at level kappa. Closed form for mu-GDP;
for Poisson-subsampled DP-SGD a Monte Carlo estimate with its confidence interval and an
Edgeworth approximation; the GLRT bound of an adversary who knows the candidates. See
``docs/bounds.md``. ``sigma = 0`` means non-private.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bench.privacy.bounds._args import check, scalar

# scipy.special's own ufuncs, loaded without the package's import (0.6 s; scipy_light)
from bench.privacy.scipy_light import ndtr, ndtri

__all__ = [
    "ReroEstimate",
    "rero_gdp",
    "rero_gdp_inverse",
    "rero_glrt",
    "rero_nonprivate",
    "rero_subsampled_edgeworth",
    "rero_subsampled_mc",
]


def rero_gdp(kappa, mu):
    """ReRo bound of mu-GDP: success <= Phi(Phi^-1(kappa) + mu), kappa = 1/n the baseline.

    Example:
        >>> round(float(rero_gdp(1 / 13, 1.0)), 5)
        0.33503
    """
    kappa, mu = check("kappa", kappa, "open_unit"), check("mu", mu, "nonneg")
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
    kappa, success = check("kappa", kappa, "open_unit"), check("success", success, "unit")
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
    kappa, sigma = scalar("kappa", kappa, "open_unit"), scalar("sigma", sigma, "nonneg")
    q, steps = scalar("sample_rate", sample_rate, "rate"), int(scalar("steps", steps, "count"))
    return kappa, sigma, q, steps


def rero_nonprivate(kappa, q, steps):
    """Exact ReRo without noise (sigma = 0): certain once a step sampled the target.

    Without noise the release shows the target whenever a step sampled it (P has no such
    outcome), otherwise nothing: success 1 - (1 - q)^T (1 - kappa).

    Example:
        >>> round(rero_nonprivate(0.1, 0.5, 2), 3)
        0.775
    """
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
    from scipy.stats import beta, binom

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
    n = int(scalar("n_samples", n_samples, "count"))
    alpha = 1 - scalar("confidence", confidence, "open_unit")
    if sigma == 0:
        exact = rero_nonprivate(kappa, q, steps)
        return ReroEstimate(exact, exact, exact, n, 1 - alpha)
    rng = np.random.default_rng(seed)
    loss_p = _loss_sums(rng, sigma, q, steps, n, under_q=False)
    loss_q = _loss_sums(rng, sigma, q, steps, n, under_q=True)
    low, high = _mc_interval(loss_p, loss_q, kappa, alpha)
    return ReroEstimate(float(_np_power(loss_p, loss_q, kappa)), low, high, n, 1 - alpha)


def _expect(fn, sigma, q, shift, tol):
    """E[fn(L(shift + sigma U))], U ~ N(0, 1), by adaptive quadrature to absolute ``tol``."""
    from scipy import integrate

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
    from numpy.polynomial import hermite_e

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
    from scipy import optimize

    kappa, sigma, q, steps = _rero_args(kappa, sigma, sample_rate, steps)
    if sigma == 0:
        return rero_nonprivate(kappa, q, steps)
    mean_p, std_p, *lam_p = _edgeworth_parts(sigma, q, steps, under_q=False)
    mean_q, std_q, *lam_q = _edgeworth_parts(sigma, q, steps, under_q=True)
    z = optimize.brentq(lambda x: _edgeworth_cdf(x, *lam_p) - (1 - kappa), -12, 12, xtol=1e-13)
    power = 1 - _edgeworth_cdf((mean_p + std_p * z - mean_q) / std_q, *lam_q)
    return float(np.clip(power, kappa, 1.0))


def rero_glrt(kappa, sigma, dim, steps=1):
    """ReRo success of a direction-agnostic GLRT adversary (chi-square tests), as study C.

    Threat model (Kaissis et al.'s relaxed threat model, as in study C's
    ``rero_bound_glrt_without_subsampling``): the adversary sees Y in R^d (d = dim), the
    average of ``steps`` full-batch noisy updates, Y ~ N(0, sigma^2/T I_d) without the target
    and N(v, sigma^2/T I_d) with it, where ||v|| = 1 (unit sensitivity) but the direction of
    v is unknown, so it tests the statistic T ||Y||^2 / sigma^2: chi2_d without the target,
    noncentral chi2_d with noncentrality T / sigma^2 with it. Two level-kappa tests:

    * forward: decide "target" when the statistic exceeds the (1 - kappa) quantile of
      chi2_d; power ncx2_d.sf(chi2_d.isf(kappa)).
    * reverse (the roles of the hypotheses swapped): decide "no target" when the
      statistic falls below the kappa quantile of the noncentral chi2_d; power
      chi2_d.cdf(ncx2_d.ppf(kappa)).

    The bound is the larger of the two powers, as study C takes it (the reverse test is
    the larger one at kappa 0.5, d 1, sigma 0.66: 0.8710 against 0.8140). In one dimension
    the forward test is the two-sided test |Y| > c; neither exceeds rero_gdp(kappa, mu).

    Args:
        kappa: Baseline success 1/n in (0, 1).
        sigma: Noise multiplier (>= 0; 0 gives 1).
        dim: Dimension d of the observation.
        steps: Number of full-batch steps T.

    Returns:
        The success probability, broadcast over the arguments.

    Example:
        >>> round(float(rero_glrt(0.5, 0.66, 1)), 4)
        0.871
    """
    from scipy.stats import chi2, ncx2

    kappa, sigma = check("kappa", kappa, "open_unit"), check("sigma", sigma, "nonneg")
    dim, steps = check("dim", dim, "count"), check("steps", steps, "count")
    with np.errstate(divide="ignore", invalid="ignore"):
        nc = steps / sigma**2
        forward = ncx2.sf(chi2.isf(kappa, dim), dim, nc)
        reverse = chi2.cdf(ncx2.ppf(kappa, dim, nc), dim)
    return np.where(sigma == 0, 1.0, np.maximum(forward, reverse))[()]
