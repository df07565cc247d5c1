"""``norm-prior``: the suite's prior-free attack plus one prior fact, the target's L2 norm.

The norm is public (it is in the task's config), so the adversary may project its noisy
reconstruction onto that sphere. Whether this beats the prior-free bound is exactly what
the task's bound-vs-empirical table shows. Importing this module registers the method;
the ``bench.methods`` entry point in pyproject.toml makes the suite import it.
"""

from dataclasses import dataclass

from bench.tasks import register_method
from bench.tasks.base import CellContext, CellOutput, MethodSpec
from bench.tasks.recon_attack import AttackConfig


@dataclass(frozen=True)
class NormPriorConfig(AttackConfig):
    """The task's attack settings (trials, image size, norm, C, threshold); ``--set`` works."""


def run(ctx: CellContext) -> CellOutput:
    import numpy as np
    import torch

    from attacks.prior_free import prior_free_attack
    from bench.tasks import recon_attack_cells as cells

    cfg = ctx.config
    targets, mech, generator = cells.prepare(ctx, cfg.trials)  # private images, calibrated DP
    flat = targets.images.reshape(cfg.trials, -1)
    xs = flat / np.linalg.norm(flat, axis=1, keepdims=True) * cfg.target_norm
    nmse = np.empty(cfg.trials)
    for i, x in enumerate(xs):  # one real opacus DP-SGD release per trial
        dp = mech.dp_kwargs() if i == 0 else {**mech.dp_kwargs(), "accountant": None}
        release = prior_free_attack(torch.tensor(x).float(), generator=generator, **dp)
        x_hat = release.x_hat.double().numpy()
        x_hat = x_hat / np.linalg.norm(x_hat) * cfg.target_norm  # the norm prior
        nmse[i] = np.sum((x_hat - x) ** 2) / np.sum(x**2)
    risk = cells.risk_of(mech, cfg)  # what this (sigma, q, T) means for reconstruction
    metrics = {
        **cells.nmse_metrics(nmse, cfg, risk["p_mse_le"]),
        **cells.image_metrics(nmse, targets.images),
        "rero_bound": risk["rero"],
    }
    return CellOutput(metrics, mech.privacy(ctx, cfg), risk, targets.dataset)


register_method(
    MethodSpec(
        task="recon-attack",
        name="norm-prior",
        description="prior-free attack projected onto the known target norm (example plug-in)",
        configs={
            "smoke": NormPriorConfig(trials=30),
            "small": NormPriorConfig(trials=1000),
            "paper": NormPriorConfig(trials=500, image_size=32),
        },
        run=run,
    )
)
