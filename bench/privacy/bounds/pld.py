"""A provable ReRo bound of Poisson-subsampled DP-SGD from its privacy-loss distribution.

The tight ReRo bound (Hayes, Mahloujifar, Balle 2023) is the power at level kappa of the best
test between P = N(0, s^2)^T (target absent) and Q = ((1-q) N(0, s^2) + q N(1, s^2))^T
(target present). For every epsilon and every test of level kappa,
Q[reject] <= e^eps kappa + delta(eps), with the hockey-stick divergence
delta(eps) = E_Q[(1 - e^(eps - L))_+] of the privacy loss L = log dQ/dP; the infimum over
epsilon is the power itself. This module bounds delta(eps) from above with exact numerics:

1. One step: L(y) = log(1 - q + q exp((2y - 1) / (2 s^2))) is increasing in y, so its CDF under
   Q is closed form (normal CDFs at the inverse y(l)). The loss is rounded *up* to a grid of
   width h; the mass above the grid's top goes to +inf.
2. T steps: the rounded PMF is composed by FFT convolutions (binary powers). After each
   convolution the tails are trimmed *upwards*: mass below a cut joins the cut, mass above
   the top goes to +inf. Every step only raises the loss, so delta can only grow.
3. Rounding up by e_i in [0, h) each step shifts the sum by T E[e] on average. That bias is
   removed exactly: E[e] = E[ceil_h L] - E[L] (the second term by quadrature, an exact
   lower bound of E[e] up to rounding); Hoeffding bounds the rest, so with probability at
   least 1 - beta the true loss sum is at most the computed one + t - T E[e],
   t = h sqrt(T log(1/beta) / 2). The bound pays beta on top.

The result is an upper bound on the exact power (floating point aside, ~1e-12), at most about
e^tol times it while the grids stay below MAX_POINTS; see docs/bounds.md for measurements.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from bench.privacy.bounds._args import scalar

# scipy.special's own ndtr, loaded without the package's import (0.6 s; scipy_light)
from bench.privacy.scipy_light import ndtr

__all__ = ["rero_subsampled_pld"]

#: Probability given up to the Hoeffding step; added to the bound.
BETA = 1e-12
#: Tail mass trimmed (moved up) at each side of each composition.
TRIM = 1e-14
#: Largest grid of the composed loss: beyond it h grows (the bound stays valid, looser).
MAX_POINTS = 2**21


def _edge_y(loss, sigma, q):
    """y with L(y) = loss (L increasing); -inf where loss <= log(1 - q)."""
    loss = np.asarray(loss, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        # log(e^l - (1 - q)), without cancellation near log(1 - q) nor overflow at large l
        small = np.log(np.expm1(np.minimum(loss, 30.0)) + q)
        large = loss + np.log1p(-(1 - q) * np.exp(-np.maximum(loss, 30.0)))
        log_inner = np.where(loss > 30, large, small)
        y = sigma**2 * (log_inner - math.log(q)) + 0.5
    return np.where(loss > math.log1p(-q), y, -np.inf)


def _step_loss(y, sigma, q):
    """L(y) = log(1 - q + q exp((2y - 1) / (2 sigma^2)))."""
    return np.logaddexp(math.log1p(-q), math.log(q) + (2 * y - 1) / (2 * sigma**2))


def _top_y(sigma, q):
    """A y with Q[y' > y] <= TRIM (the target's own N(1, s^2) dominates the tail)."""
    y_top = 1 + sigma * 8.0
    while _q_sf_y(y_top, sigma, q) > TRIM:
        y_top += sigma
    return y_top


def _q_cdf_y(y, sigma, q):
    return (1 - q) * ndtr(y / sigma) + q * ndtr((y - 1) / sigma)


def _q_sf_y(y, sigma, q):
    return (1 - q) * ndtr(-y / sigma) + q * ndtr((1 - y) / sigma)


def _one_step(sigma, q, h):
    """Rounded-up one-step PMF on the grid (lo + j h), its infinite mass and E[e] (lower)."""
    from bench.privacy.scipy_light import integrate  # QUADPACK as scipy calls it

    top = float(_step_loss(_top_y(sigma, q), sigma, q))
    j_lo, j_hi = math.floor(math.log1p(-q) / h), math.ceil(top / h)
    edges = np.arange(j_lo, j_hi + 1) * h
    cdf = _q_cdf_y(_edge_y(edges, sigma, q), sigma, q)
    pmf = np.clip(np.diff(cdf), 0, None)  # mass of (edge_{j-1}, edge_j] sits at edge_j
    p_inf = float(_q_sf_y(_edge_y(edges[-1:], sigma, q)[0], sigma, q))

    def loss_density(y):  # L(y) times the density of Q
        dens = (1 - q) * np.exp(-(y**2) / (2 * sigma**2)) + q * np.exp(
            -((y - 1) ** 2) / (2 * sigma**2)
        )
        return _step_loss(y, sigma, q) * dens

    # E[L 1{L <= top}] piecewise (quad alone loses accuracy over the wide range). Below
    # -40 sigma L is negative with no mass to speak of: leaving it out only raises the
    # mean, which lowers the bias estimate (the safe side), as does quad's error bound.
    y_end = _edge_y(edges[-1:], sigma, q)[0]
    cuts = [-40 * sigma, -8 * sigma, 0.0, 0.5, 1.0, 1 + 8 * sigma, y_end]
    mean_loss = 0.0
    for a, b in itertools.pairwise(cuts):
        value, err = integrate.quad(loss_density, a, b, epsabs=1e-17, epsrel=1e-12, limit=200)
        mean_loss += value + err
    mean_loss /= sigma * math.sqrt(2 * math.pi)
    # E[(ceil L - L) 1{L <= top}] is a lower bound of E[e] (e >= 0 above the top too).
    bias = float(np.dot(edges[1:], pmf)) - mean_loss - 1e-15
    return pmf, j_lo + 1, p_inf, max(bias, 0.0)


def _trim(pmf, start, p_inf):
    """Move the lower TRIM of mass up to the first kept point, the upper TRIM to +inf."""
    cum = np.cumsum(pmf)
    total = cum[-1]
    lo = int(np.searchsorted(cum, TRIM, side="right"))
    hi = int(np.searchsorted(cum, total - TRIM, side="left")) + 1
    hi = min(max(hi, lo + 1), pmf.size)
    kept = pmf[lo:hi].copy()
    kept[0] += cum[lo - 1] if lo > 0 else 0.0
    return kept, start + lo, p_inf + float(total - cum[hi - 1])


def _fftconvolve(a, b):
    # scipy.fft's functions, not scipy.signal's: the latter takes seconds to import, and
    # scipy_light calls pocketfft as scipy.fft does without importing scipy.fft either.
    from bench.privacy.scipy_light import fft

    if min(a.size, b.size) <= 64:
        return np.convolve(a, b)
    size = a.size + b.size - 1
    n = fft.next_fast_len(size, real=True)
    fa = fft.rfft(a, n)
    return fft.irfft(fa * (fa if b is a else fft.rfft(b, n)), n)[:size]


def _convolve(a, b):
    out = _fftconvolve(a[0], b[0])
    np.clip(out, 0, None, out=out)  # FFT round-off, ~1e-17 per point
    p_inf = 1 - (1 - a[2]) * (1 - b[2])
    return _trim(out, a[1] + b[1], p_inf)


def _compose(step, steps):
    """T-fold sum of the one-step (pmf, start, p_inf) by binary powers, trimmed up."""
    result, power = None, step
    while True:
        if steps & 1:
            result = power if result is None else _convolve(result, power)
        steps >>= 1
        if not steps:
            return result
        power = _convolve(power, power)


def _power_bound(pmf, start, p_inf, h, shift, kappa):
    """min over grid points g of e^(g + shift) kappa + delta(g) + p_inf, exact for the PMF.

    delta(g) = sum_{s > g} p_s (1 - e^(g - s)). The subtracted part is computed relative to
    the lowest loss; where that would overflow or underflow it is left out, which only
    raises delta (the safe side).
    """
    losses = (start + np.arange(pmf.size)) * h
    # Sums over losses strictly above g_k: the reversed cumulative sums shifted by one.
    above = np.concatenate([np.cumsum(pmf[::-1])[::-1][1:], [0.0]])
    rel = losses - losses[0]
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        terms = pmf * np.exp(-np.minimum(rel, 740.0))
        weighted = np.concatenate([np.cumsum(terms[::-1])[::-1][1:], [0.0]])
        sub = np.where(rel < 700, np.exp(np.minimum(rel, 700.0)) * weighted, 0.0)
        delta = np.clip(above - sub, 0, None)
        values = np.exp(losses + shift) * kappa + delta
    return float(np.min(values)) + p_inf


def _grid(sigma, q, steps, tol):
    """The grid width h: the Hoeffding margin t = tol, unless a grid gets too big.

    Caps: the composed loss (about 20 standard deviations of the T-step sum under Q, plus
    the one-step range) and the one-step grid itself stay within MAX_POINTS; beyond, h
    grows (still a bound, looser: such a mechanism's power is close to 1 anyway).
    """
    h = tol / math.sqrt(steps * math.log(1 / BETA) / 2)
    one_step = float(_step_loss(_top_y(sigma, q), sigma, q)) - math.log1p(-q)
    var = q * q * math.expm1(min(1 / sigma**2, 700.0))
    width = 20 * math.sqrt(steps * var) + one_step
    return max(h, width / MAX_POINTS)


def rero_subsampled_pld(kappa, sigma, sample_rate, steps, tol=0.005):
    """Provable upper bound on the tight subsampled ReRo, from the privacy-loss distribution.

    The same quantity as :func:`bench.privacy.bounds.rero.rero_subsampled_mc` (the
    Neyman-Pearson power at level kappa between N(0, s^2)^T and
    ((1-q) N(0, s^2) + q N(1, s^2))^T), bounded from above by pessimistic discretisation of
    the privacy loss, exact composition by FFT and a Hoeffding correction of the rounding
    bias (module docstring). Milliseconds to about a second.

    Args:
        kappa: Baseline success 1/n in (0, 1).
        sigma: Noise multiplier (> 0).
        sample_rate: Poisson sampling rate q in (0, 1).
        steps: Number of steps T.
        tol: Hoeffding margin on the loss sum; the bound exceeds the exact power by a factor
            of at most about e^tol (plus the discretisation of the minimisation).

    Returns:
        The bound, in [kappa, 1].

    Example:
        >>> round(rero_subsampled_pld(1 / 76, 1.1056, 0.0125, 948), 4)  # exact: 0.03799
        0.0381
    """
    kappa, sigma = scalar("kappa", kappa, "open_unit"), scalar("sigma", sigma, "pos")
    q, steps = scalar("sample_rate", sample_rate, "open_unit"), int(scalar("steps", steps, "count"))
    h = _grid(sigma, q, steps, scalar("tol", tol, "pos"))
    pmf, start, p_inf, bias = _one_step(sigma, q, h)
    pmf, start, p_inf = _compose(_trim(pmf, start, p_inf), steps)
    margin = h * math.sqrt(steps * math.log(1 / BETA) / 2)
    bound = _power_bound(pmf, start, p_inf, h, margin - steps * bias, kappa) + BETA
    return float(min(max(bound, kappa), 1.0))
