"""Scoring of ``recon-attack``: the attack's answers against the targets the task kept.

Success is measured on the normalised squared error NMSE = ||X_hat - X||^2 / ||X||^2
(scale-free, so one threshold fits every image size); for the optimal prior-free attack
NMSE ~ sigma_eff^2 chi2_N, which is exactly what :mod:`bench.privacy.bounds.prior_free`
describes. Every metric is computed from the per-trial outputs the record keeps.
"""

from __future__ import annotations

import functools
import math
from copy import deepcopy
from typing import Any

import numpy as np

from bench.metrics.stats import clopper_pearson
from bench.privacy.bounds import prior_free as bounds
from bench.privacy.risk import RiskQuery, risk_block
from bench.tasks.base import Scored
from bench.tasks.recon_attack.api import ThreatModel

PSNR_CAP_DB = 100.0  # a perfect reconstruction has infinite PSNR; strict JSON needs a number
DIGITS = 8  # significant digits of the per-trial outputs


def risk_of(sigma: float, threat: ThreatModel) -> dict[str, Any]:
    """The risk block of the release (sigma, q, T) in the task's normalised units.

    Example:
        >>> from bench.tasks.recon_attack.api import ThreatModel
        >>> round(risk_of(0.0, ThreatModel(image_size=2, trials=1))["p_mse_le"], 6)
        1.0
    """
    return deepcopy(_risk(float(sigma), threat))


@functools.lru_cache(maxsize=32)  # score and risk of one cell ask for the same block
def _risk(sigma: float, threat: ThreatModel) -> dict[str, Any]:
    return risk_block(
        RiskQuery(
            sigma=sigma,
            sample_rate=threat.sample_rate,
            steps=threat.steps,
            dim=threat.dim,
            norm=threat.target_norm,
            mse_threshold=threat.nmse_threshold * threat.target_norm**2 / threat.dim,
            kappa=1 / threat.prior_size,
        )
    )


def rate_metrics(name: str, hits: np.ndarray) -> dict[str, float]:
    """A success rate with its Clopper-Pearson 95% CI.

    Example:
        >>> rate_metrics("s", np.array([True, False]))["s"]
        0.5
    """
    low, high = clopper_pearson(int(hits.sum()), len(hits))
    return {name: float(hits.mean()), f"{name}_ci_low": low, f"{name}_ci_high": high}


def intensity_mse(nmse: np.ndarray, images: np.ndarray) -> np.ndarray:
    """Per-trial MSE on the [0, 1] intensity scale, from NMSE and the targets' energy."""
    energy = np.mean(images.reshape(len(images), -1) ** 2, axis=1)
    return nmse * energy


def psnr(mse: np.ndarray) -> np.ndarray:
    """PSNR (dB, data range 1) capped at :data:`PSNR_CAP_DB`."""
    with np.errstate(divide="ignore"):
        return np.minimum(-10 * np.log10(mse), PSNR_CAP_DB)


def image_metrics(nmse: np.ndarray, images: np.ndarray) -> dict[str, float]:
    """Mean MSE and PSNR over the trials that gave a reconstruction."""
    observed = np.isfinite(nmse)
    if not observed.any():
        return {}
    mse = intensity_mse(nmse, images)[observed]
    return {"mse_mean": float(mse.mean()), "psnr_mean": float(psnr(mse).mean())}


def nmse_metrics(nmse: np.ndarray, threshold: float, bound: float) -> dict[str, float]:
    """Success (NMSE <= r) with its CI, as ``success_*`` and ``p_mse_le_*``, and the bound."""
    rate = rate_metrics("success_empirical", nmse <= threshold)
    return {
        **rate,
        "success_bound": bound,
        "trials": float(len(nmse)),
        **{k.replace("success", "p_mse_le"): v for k, v in rate.items()},
        "p_mse_le_bound": bound,
    }


def coverage(nmse: np.ndarray, sigma_eff: np.ndarray, dim: int) -> float:
    """Fraction of trials whose NMSE is at or above the optimal attack's 5% quantile.

    About 0.95 for an attack that matches the theory; clearly less would mean an attack
    beating the bound. The NMSE quantile is N times the MSE quantile at unit norm.
    """
    return float(np.mean(nmse >= dim * bounds.mse_quantile(0.05, sigma_eff, dim, 1.0)))


def score_reconstructions(
    nmse: np.ndarray,
    observations: np.ndarray,
    images: np.ndarray,
    threat: ThreatModel,
    sigma: float,
    ssims: np.ndarray | None = None,
) -> Scored:
    """Metrics and per-trial outputs of a reconstruction attack (``inf`` NMSE: abstained).

    ``ssims`` (gradient matching, intensity images) adds ``ssim_mean``; without them the
    prior-free figures (coverage, observed fraction) are reported.
    """
    risk = risk_of(sigma, threat)
    metrics = {
        **nmse_metrics(nmse, threat.nmse_threshold, risk["p_mse_le"]),
        **image_metrics(nmse, images),
        "rero_bound": risk["rero"],
    }
    mse = intensity_mse(nmse, images)
    outputs = {
        "nmse": _floats(nmse),
        "mse": _floats(mse),
        "psnr": _floats(psnr(mse)),
        "success": (nmse <= threat.nmse_threshold).astype(int).tolist(),
        "observations": observations.astype(int).tolist(),
    }
    if ssims is None:
        sigma_eff = sigma / np.sqrt(np.maximum(observations, 1))
        metrics["coverage"] = coverage(nmse, sigma_eff, threat.dim)
        metrics["observed_fraction"] = float(np.mean(observations > 0))
    else:
        metrics["ssim_mean"] = float(ssims.mean())
        outputs["ssim"] = _floats(ssims)
    return Scored(metrics, outputs)


def score_identification(
    picks: np.ndarray, truth: np.ndarray, threat: ThreatModel, sigma: float
) -> Scored:
    """Metrics and per-trial outputs of an identification attack (a pick per trial)."""
    risk = risk_of(sigma, threat)
    hits = picks == truth
    metrics = {
        **rate_metrics("success_empirical", hits),
        "success_bound": risk["rero"],
        "rero_bound": risk["rero"],
        "p_mse_le_bound": risk["p_mse_le"],
        "trials": float(len(hits)),
    }
    outputs = {
        "pick": picks.astype(int).tolist(),
        "truth": truth.astype(int).tolist(),
        "success": hits.astype(int).tolist(),
    }
    return Scored(metrics, outputs)


def _floats(values: np.ndarray) -> list[float | None]:
    """Strict-JSON floats at :data:`DIGITS` significant digits; None where not finite (an
    abstention: no reconstruction, a failure)."""
    return [float(f"{v:.{DIGITS}g}") if math.isfinite(v) else None for v in values.tolist()]
