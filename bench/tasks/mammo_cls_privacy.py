"""Privacy and risk blocks of ``mammo-cls`` records.

One record may cover two DP runs on the same private split: the DP GAN's discriminator
and the DP classifier. Their (sigma, q, T) histories are composed by the accountant and
the record states the composed epsilon at the task's delta; the top-level ``noise_multiplier``,
``sample_rate`` and ``steps`` then describe the classifier and ``runs`` lists both (the
form in which the leaderboard checks recompute a composition).
"""

from __future__ import annotations

import math
from dataclasses import replace

from bench.privacy.accounting import Calibration, epsilon_of_history, other_accountant
from bench.privacy.budget import PrivacyBudget
from bench.privacy.report import PrivateStep, privacy_block
from bench.privacy.risk import RiskQuery, risk_block
from bench.tasks.mammo_cls_synthetic import Synthetic

TARGET_NORM = 1.01  # recon-attack's convention: ||X|| just above C = 1, so clipping acts
NO_RISK = {"private_data_touched": False, "note": "no model was trained on private data"}


def risk_of(config, sigma: float, sample_rate: float, steps: int) -> dict:
    """Reconstruction risk of one DP run, in the units of ``recon-attack``.

    The target is one training patch (N = image_size^2 pixels) rescaled to
    ||X|| = 1.01 > C; success is NMSE <= ``nmse_threshold``; the identification
    adversary has ``prior_size`` candidates. The prior-free adversary controls the model,
    so the bound does not depend on the architecture that was actually trained.
    """
    dim = config.image_size**2
    return risk_block(
        RiskQuery(
            sigma=sigma,
            sample_rate=sample_rate,
            steps=max(steps, 1),
            dim=dim,
            norm=TARGET_NORM,
            mse_threshold=config.nmse_threshold * TARGET_NORM**2 / dim,
            kappa=1 / config.prior_size,
        )
    )


def training_risk(config, training, synthetic: Synthetic | None = None) -> dict:
    """Risk of the classifier's run, plus the DP GAN's when there is one."""
    cal = training.calibration
    risk = risk_of(config, cal.sigma, cal.sample_rate, training.steps_taken() or cal.steps)
    if synthetic is not None and synthetic.private:
        risk["gan_discriminator"] = gan_risk(config, synthetic)
    return risk


def gan_risk(config, synthetic: Synthetic) -> dict:
    ((sigma, q, steps),) = synthetic.history
    return risk_of(config, sigma, q, steps)


def head_only(config) -> bool:
    return config.train == "head" or config.backbone == "swin-t"


def classifier_step(ctx, data: str) -> PrivateStep:
    """How the classifier's training on private data was protected."""
    what = "MLP head on the frozen backbone" if head_only(ctx.config) else "whole ViT"
    protection = (
        "DP-SGD (opacus): Poisson sampling, per-sample clipping at "
        f"C={ctx.config.max_grad_norm:g}, Gaussian noise, accounted"
        if ctx.budget.is_private
        else "none: non-private baseline"
    )
    return PrivateStep(f"classifier training ({what})", data, protection)


GAN_STEP = PrivateStep(
    "cGAN discriminator training",
    "private training split",
    "DP-SGD (opacus) on the discriminator, a fixed number of fakes per step; the generator "
    "is post-processing",
)


def classifier_budget(budget: PrivacyBudget, synthetic: Synthetic | None, share: float):
    """The whole budget, or what a DP GAN left of it (1 - share of epsilon, half of delta)."""
    if synthetic is None or not synthetic.private:
        return budget
    return PrivacyBudget(budget.epsilon * (1 - share), budget.delta / 2, budget.accountant)


def single_block(ctx, training, data: str, public: list) -> dict:
    """The privacy block of the classifier's run alone."""
    block = training.privacy([classifier_step(ctx, data)], ctx.task.privacy_unit)
    return {**block, "public_data_steps": public}


def composed_block(ctx, training, synthetic: Synthetic, data: str, public: list) -> dict:
    """The DP GAN composed with the DP classifier: the accountant composes both histories."""
    budget = ctx.budget
    classifier = list(training.engine.accountant.history)
    history = list(synthetic.history) + classifier
    how = (
        f"discriminator and classifier each calibrated with opacus {budget.accountant} to a "
        f"share of the budget (GAN: {ctx.config.gan_budget_share:g} of epsilon, half of "
        "delta); both accountant histories read back after training and composed by the "
        "accountant at the task's delta"
    )
    block = _block(ctx, training.calibration, history, training.steps_taken(), how)
    block = privacy_block(
        **block,
        max_grad_norm=training.max_grad_norm,
        private_steps=[GAN_STEP, classifier_step(ctx, data)],
        unit=ctx.task.privacy_unit,
    )
    runs = [_component("cGAN discriminator", synthetic.history)]
    runs.append(_component("classifier", classifier))
    return {**block, "runs": runs, "public_data_steps": public}


def gan_only_block(ctx, synthetic: Synthetic, public: list) -> dict:
    """``vit-syn-only`` with a DP GAN: the GAN's run is the only one on private data."""
    ((sigma, q, steps),) = synthetic.history
    cal = Calibration(ctx.budget, q, steps, sigma, math.nan, math.nan)
    how = (
        f"discriminator calibrated with opacus {ctx.budget.accountant} to the whole budget; "
        "its accountant history read back after training"
    )
    block = _block(ctx, cal, synthetic.history, steps, how)
    block = privacy_block(
        **block, max_grad_norm=1.0, private_steps=[GAN_STEP], unit=ctx.task.privacy_unit
    )
    return {
        **block,
        "runs": [_component("cGAN discriminator", synthetic.history)],
        "public_data_steps": public,
    }


def _block(ctx, calibration: Calibration, history, steps: int, how: str) -> dict:
    budget = ctx.budget
    achieved = epsilon_of_history(history, budget.delta, budget.accountant)
    cross = epsilon_of_history(history, budget.delta, other_accountant(budget.accountant))
    cal = replace(calibration, budget=budget, epsilon=achieved, cross_check_epsilon=cross)
    return {
        "calibration": cal,
        "achieved_epsilon": achieved,
        "steps_taken": steps,
        "how_obtained": how,
    }


def _component(name: str, history) -> dict:
    ((sigma, q, steps),) = history  # one DP run per component
    return {"name": name, "noise_multiplier": sigma, "sample_rate": q, "steps": steps}


def no_private_data_block(ctx, public: list) -> dict:
    """A method that reads no private record: epsilon 0 whatever the target."""
    cal = Calibration(ctx.budget, 0.0, 0, 0.0, 0.0, 0.0)
    block = privacy_block(
        cal,
        achieved_epsilon=0.0,
        steps_taken=0,
        max_grad_norm=math.inf,
        private_steps=[],
        unit=ctx.task.privacy_unit,
        how_obtained="no step reads private data: public GAN, classifier trained on its samples",
    )
    return {**block, "public_data_steps": public}
