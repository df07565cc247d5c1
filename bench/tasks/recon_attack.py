"""Task ``recon-attack``: empirical reconstruction success against formal upper bounds.

For each epsilon, sigma is calibrated for the attack's mechanism (by default one
full-batch step, q = 1, T = 1, as in Riess et al.; ``prior-free-dpsgd`` uses a realistic
q < 1, T > 1 schedule), every trial is a real opacus DP-SGD release on an image of the
built-in phantoms, and the attack's success is reported beside its bound: the
prior-free bound for analytic and optimisation attacks, the ReRo bound for
identification; ``--data`` with ``--data-root`` swaps the phantoms for a real
dataset. The execution lives in :mod:`bench.tasks.recon_attack_cells`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from bench.tasks import register_method, register_task
from bench.tasks.base import MethodSpec, TaskSpec, lazy

TASK = register_task(
    TaskSpec(
        name="recon-attack",
        version=1,
        description="reconstruction-attack success from DP-SGD updates vs formal upper bounds",
        primary_metric="success_empirical",
        bound_metric="success_bound",
        summary_metrics=(
            "success_empirical",
            "success_empirical_ci_low",
            "success_empirical_ci_high",
            "success_bound",
            "rero_bound",
            "coverage",
            "mse_mean",
            "psnr_mean",
            "ssim_mean",
        ),
        delta=1e-5,
        default_eps=(1.0, 3.0, 10.0, 30.0, 100.0, math.inf),
        default_seeds=(0,),
        default_methods=(
            "prior-free",
            "prior-free-hidden",
            "prior-free-dpsgd",
            "identification",
            "inverting-gradients",
        ),
        datasets=(
            "phantom-cardiac",
            "phantom-mammo",
            "ukbb",
            "acdc",
            "mnms",
            "sunnybrook",
            "cbis-ddsm",
            "mammo-png",
            "vindr-mammo",
        ),
        privacy_unit="one image",
    )
)


@dataclass(frozen=True)
class AttackConfig:
    """Settings shared by all attacks of the task.

    Attributes:
        image_size: side of the square grayscale target (N = image_size^2 values), taken
            from the dataset's images by area downsampling (2 x 2 = N 4 as the paper).
        trials: attack trials per cell (one target image each).
        target_norm: targets are rescaled to this L2 norm before the step (1.01 > C, so
            clipping is active, as in the paper's protocol); image metrics are computed
            after mapping back to the [0, 1] intensity scale.
        max_grad_norm: clip bound C.
        sample_rate, steps: the DP-SGD schedule the noise is calibrated for.
        nmse_threshold: success means ||X_hat - X||^2 / ||X||^2 <= r, i.e.
            MSE <= eta = r ||X||^2 / N; a relative threshold so that one value fits any N.
        prior_size: n candidates of the identification adversary (kappa = 1/n); also the
            kappa of the ReRo bound reported by every attack.
    """

    image_size: int = 2
    trials: int = 300
    target_norm: float = 1.01
    max_grad_norm: float = 1.0
    sample_rate: float = 1.0
    steps: int = 1
    nmse_threshold: float = 0.1
    prior_size: int = 10


@dataclass(frozen=True)
class PriorFreeConfig(AttackConfig):
    """The optimal analytic attack (a bias-free linear trap; ``hidden`` inside a larger net)."""

    rows: int = 1
    hidden: bool = False


@dataclass(frozen=True)
class InvertingGradientsConfig(AttackConfig):
    """Geiping et al.'s attack: cosine gradient matching + total variation, with restarts."""

    iterations: int = 200
    restarts: int = 2
    tv_weight: float = 1e-2
    lr: float = 0.1


def _profiles(smoke, small, paper) -> dict:
    return {"smoke": smoke, "small": small, "paper": paper}


_PF = PriorFreeConfig
register_method(
    MethodSpec(
        task="recon-attack",
        name="prior-free",
        description="optimal prior-free attack: bias-free linear trap, batch size 1 (Riess et al.)",
        configs=_profiles(_PF(trials=60), _PF(trials=1000), _PF(trials=500)),
        run=lazy("bench.tasks.recon_attack_cells:run_prior_free"),
    )
)
register_method(
    MethodSpec(
        task="recon-attack",
        name="prior-free-hidden",
        description="the same trap hidden inside a larger trainable network",
        configs=_profiles(
            _PF(trials=60, hidden=True),
            _PF(trials=500, image_size=4, hidden=True),
            _PF(trials=500, image_size=32, hidden=True),
        ),
        run=lazy("bench.tasks.recon_attack_cells:run_prior_free"),
    )
)
register_method(
    MethodSpec(
        task="recon-attack",
        name="prior-free-dpsgd",
        description="prior-free attack over a DP-SGD schedule (q < 1, T > 1): K ~ Bin(T, q) "
        "observations of the target",
        configs=_profiles(
            _PF(trials=30, sample_rate=0.1, steps=30),
            _PF(trials=300, sample_rate=0.1, steps=50),
            _PF(trials=500, sample_rate=0.02, steps=500),
        ),
        run=lazy("bench.tasks.recon_attack_cells:run_prior_free"),
    )
)
register_method(
    MethodSpec(
        task="recon-attack",
        name="identification",
        description="informed adversary picking the target among n candidates by likelihood (ReRo)",
        configs=_profiles(
            AttackConfig(trials=60, image_size=4),
            AttackConfig(trials=1000, image_size=4),
            AttackConfig(trials=1000, image_size=32),
        ),
        run=lazy("bench.tasks.recon_attack_cells:run_identification"),
    )
)
_IG = InvertingGradientsConfig
register_method(
    MethodSpec(
        task="recon-attack",
        name="inverting-gradients",
        description="optimisation-based attack (cosine loss + total variation, restarts) on a CNN",
        configs=_profiles(
            _IG(trials=2, image_size=8, iterations=40, restarts=1),
            _IG(trials=12, image_size=16, iterations=150, restarts=2),
            _IG(trials=50, image_size=32, iterations=1000, restarts=4),
        ),
        run=lazy("bench.tasks.recon_attack_cells:run_inverting_gradients"),
    )
)
