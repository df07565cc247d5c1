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
from bench.privacy.bounds.pld import rero_subsampled_pld

#: Up to this many steps E[1/K] sums over every k (8 MB); beyond, over the binomial mass
#: but 2e-13 of it (bounds.prior_free's support), so that T = 1e12 still fits in memory.
EXACT_SUM_STEPS = 10**6
#: The PLD bound of the subsampled ReRo: the Hoeffding margin on the loss sum (the bound
#: exceeds the exact power by a factor of at most about e^tol).
PLD_TOL = 0.005
PLD_METHOD = "pld (pessimistic discretisation, provable upper bound, docs/bounds.md)"

THREAT_MODELS = {
    "p_mse_le": "prior-free adversary controlling the model (bias-free linear trap, "
    "clipping active) who reconstructs the target from the noisy gradients with no prior "
    "on the image; for q < 1 it also knows the other records of each batch and which "
    "steps sampled the target (the suite's derivation, docs/bounds.md)",
    "p_psnr_ge": "the same prior-free adversary, judged by PSNR >= rho",
    "expected_mse": "the same prior-free adversary's mean MSE (for q < 1: given that at "
    "least one step sampled the target)",
    "rero": "informed adversary who knows 1/kappa candidate records, one of which is the "
    "target, and picks it from the releases (ReRo, Balle et al. 2022; the tight "
    "Neyman-Pearson bound of Hayes et al. 2023 for q < 1)",
}


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
    """Risk figures of ``query``; infinite values are returned as ``None`` (strict JSON).

    ``mu`` (mu-GDP of T full-batch steps, Riess et al.) is given for q = 1 only: for q < 1
    it is not the mechanism's mu, and the subsampled figures are the ones that apply.
    """
    result: dict[str, Any] = {}
    if query.sample_rate == 1:
        result["mu"] = _finite(bounds.gdp_mu(query.sigma, query.steps))
    result.update(
        {
            "p_mse_le": _p_mse(query, query.sigma),
            "expected_mse": _finite(expected_mse(query)),
            "rero": _rero(query),
            "rero_method": rero_method(query),
        }
    )
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

    from bench.privacy.scipy_light import stats  # scipy.stats.binom's numbers, not its import

    binom = stats.binom
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
        "threat_models": {k: THREAT_MODELS[k] for k in ("p_mse_le", "rero")},
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
    """How the ReRo figure of ``query`` is computed: closed form or the PLD bound."""
    if query.sample_rate == 1 or query.sigma == 0:
        return "closed form (mu-GDP)"
    return PLD_METHOD


def _rero(query: RiskQuery) -> float:
    if query.sigma == 0:
        return float(rero.rero_nonprivate(query.kappa, query.sample_rate, query.steps))
    if query.sample_rate == 1:
        return float(rero.rero_gdp(query.kappa, bounds.gdp_mu(query.sigma, query.steps)))
    args = (query.kappa, query.sigma, query.sample_rate, query.steps)
    return rero_subsampled_pld(*args, tol=PLD_TOL)


def _finite(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


#: A figure this close to 0 or 1 prints as 0 or 1 and gets a sentence saying what it means.
NEGLIGIBLE = 1e-9


def explain(query: RiskQuery, figures: dict[str, Any]) -> list[str]:
    """Sentences for figures that read as 0 or 1 or equal the baseline: what they mean.

    A 0 is never "safe" by itself: it is the probability of one attack's success under its
    threat model, at this (sigma, q, T) and these thresholds.
    """
    notes = []
    if query.sigma == 0:
        notes.append("sigma 0 is the non-private release: every figure is the certain success")
    missed = (1 - query.sample_rate) ** query.steps
    for key, what in (("p_mse_le", "MSE <= eta"), ("p_psnr_ge", "PSNR >= rho")):
        value = figures.get(key)
        if value is None or query.sigma == 0:
            continue
        if value <= NEGLIGIBLE:
            shown = "0 (below the smallest float)" if value == 0 else f"{value:.3g}"
            notes.append(
                f"{key} is {shown}: the prior-free attack essentially never reaches {what} "
                "at this noise. Not a general 'safe': it bounds that attack only (an adversary "
                "with a prior is rero's threat model), at this threshold and target norm"
            )
        elif value >= 1 - NEGLIGIBLE:
            notes.append(f"{key} is 1: this noise does not stop the prior-free attack ({what})")
        if query.sample_rate < 1 and missed > NEGLIGIBLE and value > NEGLIGIBLE:
            notes.append(
                f"{key} counts the {missed:.3g} chance that no step sampled the target as a "
                "failure (the K = 0 convention, docs/bounds.md)"
            )
    rero_value = figures.get("rero")
    if rero_value is not None and query.sigma > 0:
        if rero_value <= query.kappa * (1 + 1e-6):
            notes.append(
                f"rero equals the baseline kappa {query.kappa:.3g}: the releases add nothing "
                "to guessing among the candidates"
            )
        elif rero_value >= 1 - NEGLIGIBLE:
            notes.append("rero is 1: the informed adversary identifies the target for certain")
    return notes
