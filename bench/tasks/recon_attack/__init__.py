"""Task ``recon-attack``: empirical reconstruction success against formal upper bounds.

The task owns the protocol: it draws the private targets (:mod:`.targets`) and keeps
them, calibrates the release through the privacy ledger for the attack's threat model
(by default one full-batch step, q = 1, T = 1, as in Riess et al.; ``prior_free_dpsgd``
is a realistic q < 1, T > 1 schedule), runs every trial's real opacus DP-SGD release on
the model the attack supplies (:mod:`.release`), gives the attack the release and what
its threat model allows (:mod:`.api`), and scores the answer against the kept target
beside its bound (:mod:`.scoring`): the prior-free bound for reconstruction, the ReRo
bound for identification. ``--data`` with ``--data-root`` swaps the phantoms for a real
dataset.
"""

from __future__ import annotations

import math

from bench.readout import Column, Plot, Readout
from bench.tasks import register_task
from bench.tasks.base import TaskSpec
from bench.tasks.recon_attack.api import PROFILES

TASK = register_task(
    TaskSpec(
        name="recon-attack",
        version=2,  # 2: the task owns the protocol (threat models pinned per profile)
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
        protocol="bench.tasks.recon_attack.protocol:PROTOCOL",
        settings=PROFILES,
        readout=Readout(
            columns=(
                Column("success_empirical", "P[success]"),
                Column("success_empirical", "95% CI", ci=True),
                Column("success_bound", "bound", bound=True),
                Column("psnr_mean", "PSNR dB"),
                Column("ssim_mean", "SSIM"),
                Column("coverage", "coverage"),
            ),
            plots=(
                Plot(
                    "success_empirical",
                    "P[success]",
                    bound="success_bound",
                    log=True,
                    direction="higher = stronger attack",
                ),
                Plot(
                    "psnr_mean",
                    "PSNR (dB)",
                    direction="higher = stronger attack",
                ),
            ),
        ),
    )
)
