"""Reconstruction risk of a DP-SGD release: what an epsilon means for an attacker.

Two worst cases bracket the risk (the "risk corridor" of Riess et al.):
the prior-free bound on P[MSE <= eta] (an adversary who knows nothing about the image)
and the ReRo bound on identifying the target among n candidates (kappa = 1/n).

Example:
    >>> r = assess(RiskQuery(sigma=1.0, dim=1, norm=1.0, mse_threshold=0.1, kappa=1 / 13))
    >>> round(r["p_mse_le"], 5), round(r["rero"], 5)
    (0.24817, 0.33503)
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from bench.privacy.bounds import prior_free as bounds
from bench.privacy.bounds import rero

#: Below this many steps the Edgeworth expansion is not trusted (Kaissis et al. use T >= 30);
#: it also drifts when few steps contain the target (q T near 1, docs/bounds.md), so it is
#: used only when the expected number of such steps is at least EDGEWORTH_MIN_EXPECTED.
EDGEWORTH_MIN_STEPS = 30
EDGEWORTH_MIN_EXPECTED = 10
MC_SAMPLES = 200_000
#: Up to this many steps E[1/K] sums over every k (8 MB); beyond, over the binomial mass
#: but 2e-13 of it (bounds.prior_free's support), so that T = 1e12 still fits in memory.
EXACT_SUM_STEPS = 10**6


@dataclass(frozen=True)
class RiskQuery:
    """A mechanism (sigma, q, steps) and the attacker's success criteria.

    Attributes:
        dim: number of values N of the target (pixels x channels).
        norm: the target's L2 norm ||X|| (use the smallest norm of a data set).
        mse_threshold: eta in P[MSE <= eta].
        psnr_threshold: rho in P[PSNR >= rho], optional.
        kappa: baseline success of the identification adversary (1 / prior size).
    """

    sigma: float
    sample_rate: float = 1.0
    steps: int = 1
    dim: int = 1
    norm: float = 1.0
    mse_threshold: float = 0.1
    psnr_threshold: float | None = None
    data_range: float = 1.0
    kappa: float = 0.1


def assess(query: RiskQuery) -> dict[str, Any]:
    """Risk figures of ``query``; infinite values are returned as ``None`` (strict JSON)."""
    result: dict[str, Any] = {
        # mu of T full-batch steps (the q = 1 case), as in Riess et al.; for q < 1 the
        # subsampled figures below are the ones that apply.
        "mu": _finite(bounds.gdp_mu(query.sigma, query.steps)),
        "p_mse_le": _p_mse(query, query.sigma),
        "expected_mse": _finite(expected_mse(query)),
        "rero": _rero(query),
        "rero_method": rero_method(query),
    }
    if query.psnr_threshold is not None:
        eta = query.data_range**2 * 10 ** (-query.psnr_threshold / 10)
        result["p_psnr_ge"] = _p_mse(query, query.sigma, eta)
    return result


def required_sigma(query: RiskQuery, target_success: float) -> float:
    """The smallest sigma keeping the prior-free P[MSE <= eta] at or below the target."""
    args = (target_success, query.mse_threshold, query.dim, query.norm)
    if query.sample_rate == 1:
        return float(bounds.calibrate_sigma_mse(*args, steps=query.steps))
    return float(bounds.calibrate_sigma_mse_subsampled(*args, query.sample_rate, query.steps))


def expected_mse(query: RiskQuery) -> float:
    """E[MSE] of the optimal prior-free attack; for q < 1, given at least one observation."""
    if query.sample_rate == 1:
        return float(bounds.expected_mse(query.sigma, query.norm, query.steps))
    import numpy as np
    from scipy.stats import binom

    if query.steps > EXACT_SUM_STEPS:  # the whole range would not fit in memory
        k, pmf = bounds._binom_support(query.steps, query.sample_rate)
    else:
        k = np.arange(1, query.steps + 1)
        pmf = binom.pmf(k, query.steps, query.sample_rate)
    inv_k = np.sum(pmf / k) / binom.sf(0, query.steps, query.sample_rate)
    return float(query.sigma**2 * query.norm**2 * inv_k)


def risk_block(query: RiskQuery) -> dict[str, Any]:
    """The ``risk`` block of a record: the query, the figures and the threat models."""
    return {
        **{k: v for k, v in asdict(query).items() if v is not None},
        **assess(query),
        "threat_models": {
            "p_mse_le": "prior-free adversary controlling the model (bias-free linear trap, "
            "clipping active); for q < 1 it knows the other records of each batch "
            "and which steps sampled the target (the suite's derivation, "
            "docs/bounds.md)",
            "rero": "informed adversary identifying the target among 1/kappa candidates "
            "(ReRo, Balle et al. 2022; Hayes et al. 2023 for q < 1)",
        },
    }


def run_risk(
    run: dict[str, Any], *, dim: int, norm: float, mse_threshold: float, kappa: float
) -> dict[str, Any]:
    """The risk block of one run of the privacy ledger (``PrivacyLedger.runs``).

    Its sigma and q, and the steps it took -- or, for a run without accounted steps (the
    non-private baseline runs the same schedule without noise), its planned steps: with
    sigma = 0 the prior-free adversary succeeds whenever a step sampled the target, so the
    figure depends on how many steps there were.
    """
    query = RiskQuery(
        sigma=run["noise_multiplier"],
        sample_rate=run["sample_rate"],
        steps=run["steps"] or run["planned_steps"],
        dim=dim,
        norm=norm,
        mse_threshold=mse_threshold,
        kappa=kappa,
    )
    return risk_block(query)


def _p_mse(query: RiskQuery, sigma: float, eta: float | None = None) -> float:
    eta = query.mse_threshold if eta is None else eta
    if query.sample_rate == 1:
        return float(bounds.mse_success_bound(eta, sigma, query.dim, query.norm, query.steps))
    return float(
        bounds.mse_success_bound_subsampled(
            eta, sigma, query.dim, query.norm, query.sample_rate, query.steps
        )
    )


def rero_method(query: RiskQuery) -> str:
    """How the ReRo figure of ``query`` is computed: closed form, Edgeworth or Monte Carlo."""
    if query.sample_rate == 1 or query.sigma == 0:
        return "closed form (mu-GDP)"
    expected = query.sample_rate * query.steps
    if query.steps >= EDGEWORTH_MIN_STEPS and expected >= EDGEWORTH_MIN_EXPECTED:
        return "edgeworth"
    return f"monte carlo ({MC_SAMPLES} samples, upper 95% limit)"


def _rero(query: RiskQuery) -> float:
    method = rero_method(query)
    if method.startswith("closed"):
        return float(rero.rero_gdp(query.kappa, bounds.gdp_mu(query.sigma, query.steps)))
    args = (query.kappa, query.sigma, query.sample_rate, query.steps)
    if method == "edgeworth":
        return float(rero.rero_subsampled_edgeworth(*args))
    return float(rero.rero_subsampled_mc(*args, n_samples=MC_SAMPLES).ci_high)


def _finite(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None
