"""Execution of ``recon-attack`` cells: targets, calibrated DP releases, metrics, records.

Success is measured on the normalised squared error NMSE = ||X_hat - X||^2 / ||X||^2
(scale-free, so one threshold fits every image size); for the optimal prior-free attack
NMSE ~ sigma_eff^2 chi2_N, which is exactly what :mod:`bench.privacy.bounds.prior_free` describes.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import numpy as np

from bench.privacy.bounds import prior_free as bounds
from bench.errors import DatasetError
from bench.metrics.stats import clopper_pearson
from bench.privacy.accounting import Calibration, calibrate, epsilon_of_history, make_accountant
from bench.privacy.report import PrivateStep, privacy_block
from bench.privacy.risk import RiskQuery, risk_block
from bench.tasks.base import CellContext, CellOutput
from bench.tasks.recon_attack import AttackConfig
from bench.tasks.threads import limit_threads

PSNR_CAP_DB = 100.0  # a perfect reconstruction has infinite PSNR; strict JSON needs a number
_SLICES_PER_VOLUME = 7  # the 7 central slices, as the cardiac FID protocol of study A
_SOURCE_SIZE = 32  # phantom in-plane size the targets are downsampled from


@dataclass(frozen=True)
class Targets:
    """Target images in [0, 1] (n, s, s), optional class labels, and the data's identity."""

    images: np.ndarray
    labels: np.ndarray
    dataset: dict


def load_targets(ctx: CellContext, n: int, image_size: int) -> Targets:
    """``n`` private images, area-downsampled to ``image_size``: phantoms of the private
    variant, or the real dataset at ``--data-root`` (through :func:`bench.datasets.loading.load`).

    The targets depend on the cell seed only, so every epsilon attacks the same images.
    A real dataset is a fixed pool: the targets are a seeded permutation of it, taken
    again from the start when a cell has more trials than the pool has images (each
    trial is still a fresh DP release); the record says how many were distinct.
    """
    import torch
    import torch.nn.functional as F

    from bench.datasets import DATASETS
    from bench.datasets.loading import load, pool_index

    seed = ctx.derive_seed("targets")
    spec = DATASETS.get(ctx.dataset)
    if spec.modality == "cardiac":
        raw, labels, source = _cardiac_slices(ctx, n, seed)
    else:
        count = n if spec.builtin else None
        data = load(ctx.dataset, root=ctx.data_root, shape=_SOURCE_SIZE * 2, n=count, seed=seed)
        raw, labels, source = data.images, data.labels, data.provenance
    pool = len(raw)
    if not spec.builtin:
        # identification needs n distinct candidates: repeats would make it ambiguous
        if n > pool and ctx.cell.method == "identification":
            raise DatasetError(
                f"{ctx.dataset} gives {pool} distinct target images, identification needs "
                f"prior_size={n}; use --set prior_size={pool} or more data"
            )
        index = pool_index(pool, n, seed)
        raw, labels = raw[index], labels[index]
    pooled = F.adaptive_avg_pool2d(torch.from_numpy(raw[:, None]).float(), image_size)
    images = pooled[:, 0].numpy().astype(np.float64)
    digest = hashlib.sha256(images.astype(np.float32).tobytes()).hexdigest()[:16]
    dataset = {
        "name": ctx.dataset,
        "variant": source.variant,
        "samples": n,
        "image_size": image_size,
        "seed": seed,
        "content_hash": digest,
    }
    if not spec.builtin:
        dataset.update(
            root_content_hash=source.root_hash,
            preprocessing=source.preprocessing,
            distinct_samples=min(pool, n),
            skipped_files=len(source.problems),
        )
    return Targets(images, labels.astype(np.int64), dataset)


def _cardiac_slices(ctx: CellContext, n: int, seed: int):
    """Central short-axis slices of the volumes; label = phase (ESED, 1 = ED).

    Phantoms: just enough volumes for ``n`` slices. Real data: every central slice
    that is not empty (padding slices have no norm to rescale).
    """
    from bench.datasets import DATASETS
    from bench.datasets.loading import load

    builtin = DATASETS.get(ctx.dataset).builtin
    volumes = math.ceil(n / _SLICES_PER_VOLUME) if builtin else None
    shape = (13, _SOURCE_SIZE, _SOURCE_SIZE)
    data = load(ctx.dataset, root=ctx.data_root, shape=shape, n=volumes, seed=seed)
    lo = (data.images.shape[1] - _SLICES_PER_VOLUME) // 2
    slices = data.images[:, lo : lo + _SLICES_PER_VOLUME].reshape(-1, _SOURCE_SIZE, _SOURCE_SIZE)
    phase = np.repeat(data.column("ESED"), _SLICES_PER_VOLUME)
    if builtin:
        return slices[:n], phase[:n], data.provenance
    keep = slices.reshape(len(slices), -1).max(axis=1) > 0
    return slices[keep], phase[keep], data.provenance


@dataclass(frozen=True)
class Mechanism:
    """The calibrated release mechanism of a cell and the accountant that watches it."""

    calibration: Calibration
    max_grad_norm: float
    accountant: object | None

    @classmethod
    def for_cell(cls, ctx: CellContext, config: AttackConfig) -> Mechanism:
        cal = calibrate(ctx.budget, config.sample_rate, config.steps)
        if not ctx.budget.is_private:  # the non-private baseline: no clipping, no noise
            return cls(cal, math.inf, None)
        return cls(cal, config.max_grad_norm, make_accountant(ctx.budget.accountant))

    @property
    def sigma(self) -> float:
        return self.calibration.sigma

    def dp_kwargs(self) -> dict:
        return {
            "noise_multiplier": self.sigma,
            "max_grad_norm": self.max_grad_norm,
            "accountant": self.accountant,
        }

    def privacy(self, ctx: CellContext, config: AttackConfig) -> dict:
        """The privacy block, with the achieved epsilon read back from the accountant."""
        achieved = math.inf
        if self.accountant is not None:
            history = self.accountant.history
            taken = sum(steps for _, _, steps in history)
            if taken != config.steps:
                raise RuntimeError(f"accountant saw {taken} steps, expected {config.steps}")
            achieved = epsilon_of_history(history, ctx.budget.delta, ctx.budget.accountant)
        protection = (
            "DP-SGD step(s): per-sample clipping, Gaussian noise, accounted"
            if ctx.budget.is_private
            else "none: non-private baseline"
        )
        how = (
            f"sigma calibrated to the target epsilon with opacus {ctx.budget.accountant} "
            f"(q={config.sample_rate}, T={config.steps}); achieved epsilon read back from "
            "the opacus accountant attached to the DP optimizer of trial 0; every trial "
            "repeats the same mechanism on a fresh target, so this is the per-target "
            "guarantee"
            if ctx.budget.is_private
            else "non-private baseline: no noise"
        )
        step = PrivateStep("attacked DP-SGD release", "target image (private variant)", protection)
        return privacy_block(
            self.calibration,
            achieved_epsilon=achieved,
            steps_taken=config.steps,
            max_grad_norm=self.max_grad_norm,
            private_steps=[step],
            unit=ctx.task.privacy_unit,
            how_obtained=how,
        )


def prepare(ctx: CellContext, n_targets: int):
    """The cell's targets, its calibrated mechanism and the generator of its noise.

    The noise seed includes the epsilon, so cells differ in noise but share targets.
    """
    import torch

    config = ctx.config
    targets = load_targets(ctx, n_targets, config.image_size)
    generator = torch.Generator().manual_seed(ctx.derive_seed("noise", ctx.cell.epsilon))
    return targets, Mechanism.for_cell(ctx, config), generator


def risk_of(mechanism: Mechanism, config: AttackConfig) -> dict:
    """The risk block of the cell's mechanism, in the task's normalised units."""
    dim = config.image_size**2
    return risk_block(
        RiskQuery(
            sigma=mechanism.sigma,
            sample_rate=config.sample_rate,
            steps=config.steps,
            dim=dim,
            norm=config.target_norm,
            mse_threshold=config.nmse_threshold * config.target_norm**2 / dim,
            kappa=1 / config.prior_size,
        )
    )


def rate_metrics(name: str, hits: np.ndarray) -> dict[str, float]:
    """A success rate with its Clopper-Pearson 95% CI."""
    low, high = clopper_pearson(int(hits.sum()), len(hits))
    return {name: float(hits.mean()), f"{name}_ci_low": low, f"{name}_ci_high": high}


def image_metrics(nmse: np.ndarray, images: np.ndarray) -> dict[str, float]:
    """MSE and PSNR on the [0, 1] intensity scale from NMSE and the targets' energy."""
    observed = np.isfinite(nmse)
    energy = np.mean(images.reshape(len(images), -1) ** 2, axis=1)
    mse = nmse[observed] * energy[observed]
    with np.errstate(divide="ignore"):
        psnr = np.minimum(-10 * np.log10(mse), PSNR_CAP_DB)
    if not observed.any():
        return {}
    return {"mse_mean": float(mse.mean()), "psnr_mean": float(psnr.mean())}


def nmse_metrics(nmse: np.ndarray, config: AttackConfig, bound: float) -> dict[str, float]:
    """Success (NMSE <= r) with its CI, as ``success_*`` and as ``p_mse_le_*``, and the bound."""
    hits = nmse <= config.nmse_threshold
    rate = rate_metrics("success_empirical", hits)
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


def _unit_norm(images: np.ndarray, norm: float):
    import torch

    flat = torch.from_numpy(images.reshape(len(images), -1))
    return flat / flat.norm(dim=1, keepdim=True) * norm


@limit_threads(1)
def run_prior_free(ctx: CellContext) -> CellOutput:
    """The optimal prior-free attack (bare, hidden, or over a q < 1 schedule)."""

    from attacks.prior_free import prior_free_trials

    config = ctx.config
    targets, mech, generator = prepare(ctx, config.trials)
    result = prior_free_trials(
        _unit_norm(targets.images, config.target_norm).float(),
        rows=config.rows,
        hidden=config.hidden,
        sample_rate=config.sample_rate,
        steps=config.steps,
        generator=generator,
        **mech.dp_kwargs(),
    )
    dim = config.image_size**2
    nmse = result.mse * dim / config.target_norm**2
    risk = risk_of(mech, config)
    sigma_eff = mech.sigma / np.sqrt(np.maximum(result.observations, 1))
    metrics = {
        **nmse_metrics(nmse, config, risk["p_mse_le"]),
        "coverage": coverage(nmse, sigma_eff, dim),
        **image_metrics(nmse, targets.images),
        "rero_bound": risk["rero"],
        "observed_fraction": float(np.mean(result.observations > 0)),
    }
    return CellOutput(metrics, mech.privacy(ctx, config), risk, targets.dataset)


@limit_threads(1)
def run_identification(ctx: CellContext) -> CellOutput:
    """The informed adversary: pick the target among ``prior_size`` candidates."""
    import torch

    from attacks.identification import identification_trials

    config = ctx.config
    targets, mech, generator = prepare(ctx, config.prior_size)
    picks = torch.randint(
        config.prior_size,
        (config.trials,),
        generator=torch.Generator().manual_seed(ctx.derive_seed("picks")),
    )
    hits = identification_trials(
        _unit_norm(targets.images, config.target_norm).float(),
        picks,
        generator=generator,
        **mech.dp_kwargs(),
    )
    risk = risk_of(mech, config)
    metrics = {
        **rate_metrics("success_empirical", hits),
        "success_bound": risk["rero"],
        "rero_bound": risk["rero"],
        "p_mse_le_bound": risk["p_mse_le"],
        "trials": float(config.trials),
    }
    return CellOutput(metrics, mech.privacy(ctx, config), risk, targets.dataset)


@limit_threads(1)
def run_inverting_gradients(ctx: CellContext) -> CellOutput:
    """Optimisation-based attack on a small CNN, one target per trial."""
    import torch

    from attacks.inverting_gradients import inverting_gradients_attack
    from attacks.models import SmallCNN
    from bench.metrics.image import ssim

    config = ctx.config
    targets, mech, generator = prepare(ctx, config.trials)
    torch.manual_seed(ctx.derive_seed("model"))
    model = SmallCNN(1, config.image_size, 2)
    nmse, ssims = np.empty(config.trials), np.empty(config.trials)
    for i in ctx.progress(range(config.trials), desc="inverting-gradients", unit="trial"):
        x = torch.from_numpy(targets.images[i][None]).float()
        kwargs = mech.dp_kwargs() if i == 0 else {**mech.dp_kwargs(), "accountant": None}
        result = inverting_gradients_attack(
            x,
            int(targets.labels[i]),
            model,
            iterations=config.iterations,
            restarts=config.restarts,
            tv_weight=config.tv_weight,
            lr=config.lr,
            generator=generator,
            **kwargs,
        )
        x_hat = result.x_hat.detach().double().reshape(x.shape).numpy()
        nmse[i] = np.sum((x_hat - x.double().numpy()) ** 2) / np.sum(x.double().numpy() ** 2)
        ssims[i] = ssim(targets.images[i], x_hat[0])
    risk = risk_of(mech, config)
    metrics = {
        **nmse_metrics(nmse, config, risk["p_mse_le"]),
        **image_metrics(nmse, targets.images),
        "ssim_mean": float(ssims.mean()),
        "rero_bound": risk["rero"],
    }
    return CellOutput(metrics, mech.privacy(ctx, config), risk, targets.dataset)
