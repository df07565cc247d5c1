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


def recompute_metrics(record: dict[str, Any]) -> dict[str, float]:
    """A record's metrics recomputed from its per-trial ``outputs`` (a pure function).

    The leaderboard's evidence check: it reads the record's threat model from its
    ``protocol`` and ``config``, its sigma from the privacy block, and raises
    :class:`ValueError` where the record cannot be the output of its own cell (trial count,
    targets' seed, the release's schedule, a per-trial success that does not follow from
    the per-trial error). What it returns must equal the recorded metrics.
    """
    from bench.tasks.recon_attack.api import KNOWLEDGE, ThreatModel

    name = (record.get("config") or {}).get("threat_model")
    if name not in KNOWLEDGE:
        raise ValueError(f"config names no threat model of the task (threat_model {name!r})")
    threat = ThreatModel(**record["protocol"][name])
    _check_release(record, threat, name, KNOWLEDGE[name])
    sigma = float(record["privacy"]["noise_multiplier"])
    risk = _risk_of_record(record, sigma, threat)
    outputs = record["outputs"]
    if KNOWLEDGE[name] == "candidates":
        picks, truth = (np.array(outputs[k], dtype=np.int64) for k in ("pick", "truth"))
        _same_trials(threat, picks, truth, outputs["success"])
        if not np.array_equal(truth, informed_truth(record["seed"], threat)):
            raise ValueError(f"the trials' true candidates are not those of seed {record['seed']}")
        _check_success(outputs["success"], picks == truth)
        return {
            **rate_metrics("success_empirical", picks == truth),
            "success_bound": risk["rero"],
            "rero_bound": risk["rero"],
            "p_mse_le_bound": risk["p_mse_le"],
            "trials": float(len(picks)),
        }
    nmse = np.array([math.inf if v is None else v for v in outputs["nmse"]], dtype=np.float64)
    observations = np.array(outputs["observations"], dtype=np.int64)
    _same_trials(threat, nmse, observations, outputs["success"], outputs["mse"])
    _check_success(outputs["success"], nmse <= threat.nmse_threshold)
    mse = np.array([math.inf if v is None else v for v in outputs["mse"]], dtype=np.float64)
    metrics = {
        **nmse_metrics(nmse, threat.nmse_threshold, risk["p_mse_le"]),
        "rero_bound": risk["rero"],
    }
    observed = np.isfinite(nmse)
    if observed.any():
        metrics["mse_mean"] = float(mse[observed].mean())
        metrics["psnr_mean"] = float(psnr(mse[observed]).mean())
    if "ssim" in outputs:
        metrics["ssim_mean"] = float(np.mean(np.array(outputs["ssim"], dtype=np.float64)))
    else:
        sigma_eff = sigma / np.sqrt(np.maximum(observations, 1))
        metrics["coverage"] = coverage(nmse, sigma_eff, threat.dim)
        metrics["observed_fraction"] = float(np.mean(observations > 0))
    return metrics


def cell_seed(seed: int, *labels: object) -> int:
    """:meth:`bench.tasks.base.MethodContext.derive_seed` of a record's cell seed."""
    import hashlib

    text = "/".join(str(x) for x in (seed, *labels))
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "little")


def informed_truth(seed: int, threat: ThreatModel) -> np.ndarray:
    """Which candidate each trial of the informed threat model attacks, for a cell seed."""
    import torch

    generator = torch.Generator().manual_seed(cell_seed(seed, "picks"))
    return torch.randint(threat.prior_size, (threat.trials,), generator=generator).numpy()


def _check_release(record: dict, threat: ThreatModel, name: str, knows: str) -> None:
    """The targets and the release are those the task draws for this cell and profile."""
    dataset, privacy = record["dataset"], record["privacy"]
    samples = threat.prior_size if knows == "candidates" else threat.trials
    expected = {
        "seed": cell_seed(record["seed"], "targets"),
        "image_size": threat.image_size,
        "samples": samples,
    }
    for key, value in expected.items():
        if dataset.get(key) != value:
            raise ValueError(
                f"dataset {key} {dataset.get(key)} is not the {value} of threat model {name} "
                f"at seed {record['seed']}"
            )
    if privacy.get("sample_rate") != threat.sample_rate:
        raise ValueError(
            f"privacy sample_rate {privacy.get('sample_rate')} is not the q = "
            f"{threat.sample_rate} of threat model {name}"
        )
    if privacy.get("target_epsilon") is not None:
        for key in ("steps", "max_grad_norm"):
            if privacy.get(key) != getattr(threat, key):
                raise ValueError(
                    f"privacy {key} {privacy.get(key)} is not the {getattr(threat, key)} of "
                    f"threat model {name}"
                )


def _risk_of_record(record: dict, sigma: float, threat: ThreatModel) -> dict[str, Any]:
    """The record's risk block, which must state the release's (sigma, q, T): the bounds
    it holds are functions of those (recomputing them -- Monte Carlo for q < 1 -- is the
    re-run's job, ``bench leaderboard verify``)."""
    risk = record.get("risk") or {}
    stated = {"sigma": sigma, "sample_rate": threat.sample_rate, "steps": threat.steps}
    for key, value in stated.items():
        if risk.get(key) != value:
            raise ValueError(f"risk {key} {risk.get(key)} is not the release's {value}")
    if not all(isinstance(risk.get(k), (int, float)) for k in ("p_mse_le", "rero")):
        raise ValueError("the risk block states no p_mse_le and rero figures")
    return risk


def _same_trials(threat: ThreatModel, *columns) -> None:
    lengths = {len(column) for column in columns}
    if lengths != {threat.trials}:
        raise ValueError(f"outputs hold {sorted(lengths)} trials; the protocol has {threat.trials}")


def _check_success(recorded, derived: np.ndarray) -> None:
    if [int(v) for v in recorded] != derived.astype(int).tolist():
        raise ValueError("per-trial success does not follow from the per-trial outputs")
