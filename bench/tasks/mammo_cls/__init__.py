"""Task ``mammo-cls``: DP vision transformer for mass malignancy, with and without a GAN.

Standardizes study B (Osuala et al., arXiv 2407.12669): a classifier scores mammography
mass patches as malignant (positive class, label 1) or benign. The task owns the data
(:mod:`.data`: private training split, internal test split, external site, public split),
what a method sees (:mod:`.api`: the public split and the private training split behind
the ledger, never a test patch), the scoring (:mod:`.scoring`: AUROC with a bootstrap CI,
AUPRC and accuracy on both test sets, FID of a synthetic set, the risk of the ledger's
DP runs) and the protocol settings per profile (:class:`MammoSettings`). The reference
methods (``dp-vit-real``, ``dp-vit-real+syn``, ``dp-vit-synpre``, ``vit-syn-only``) live in
:mod:`classifiers.methods`; see ``docs/mammo-cls.md``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Literal

from bench.readout import Column, Plot, Readout, Reference
from bench.tasks import register_task
from bench.tasks.base import TaskSpec

CHANCE = Reference("chance", value=0.5)


@dataclass(frozen=True)
class MammoSettings:
    """The protocol of ``mammo-cls`` for one profile (pinned by the task version).

    Attributes:
        image_size: patch side (the paper: 128).
        n_train, n_test, n_external, n_public: sizes of the private training split, the
            internal test split (same site), the external test site and the public split
            (phantoms; a real dataset brings its own splits).
        data_seed: seed of the phantom data set; fixed, so seeds vary training only.
        bootstrap: resamples of the AUROC bootstrap CI.
        nmse_threshold, prior_size: the risk block's success criterion and ReRo prior, as
            in ``recon-attack``.
        fid_extractor, fid_weights: the FID feature extractor scoring a synthetic set and,
            for ``inception-v3``, its local weights file.
    """

    image_size: int = 64
    n_train: int = 1000
    n_test: int = 600
    n_external: int = 600
    n_public: int = 2000
    data_seed: int = 0
    bootstrap: int = 1000
    nmse_threshold: float = 0.1
    prior_size: int = 10
    fid_extractor: Literal["phantom-encoder-v1", "inception-v3"] = "phantom-encoder-v1"
    fid_weights: str = ""


_SMALL = MammoSettings()
SETTINGS = {
    "smoke": replace(
        _SMALL, image_size=32, n_train=64, n_test=64, n_external=64, n_public=128, bootstrap=50
    ),
    "small": _SMALL,
    "paper": replace(
        _SMALL, image_size=128, n_train=1104, n_test=402, n_external=1106, n_public=3000
    ),
}

TASK = register_task(
    TaskSpec(
        name="mammo-cls",
        version=2,  # 2: task-owned protocol, evaluation access recorded, per-image outputs
        description="DP ViT mass malignancy classification, with and without synthetic data "
        "from a malignancy-conditioned GAN (AUROC, malignant = positive)",
        primary_metric="auroc_internal",
        summary_metrics=(
            "auroc_internal",
            "auroc_external",
            "auprc_internal",
            "accuracy_internal",
            "fid",
        ),
        delta=1e-4,  # the paper's delta, below 1 / n for its 1104 training patches
        default_eps=(1.0, 6.0, 12.0, 20.0, 60.0, math.inf),
        default_seeds=(0, 1, 2),
        default_methods=("dp-vit-real", "dp-vit-real+syn", "dp-vit-synpre", "vit-syn-only"),
        datasets=("phantom-mammo", "cbis-ddsm", "mammo-png", "vindr-mammo"),
        privacy_unit="one mass patch",
        protocol="bench.tasks.mammo_cls.scoring:PROTOCOL",
        settings=SETTINGS,
        readout=Readout(
            columns=(
                Column("auroc_internal", "AUROC int"),
                Column("auroc_internal", "95% CI int", ci=True),
                Column("auroc_external", "AUROC ext"),
                Column("auroc_external", "95% CI ext", ci=True),
                Column("auprc_internal", "AUPRC int"),
                Column("fid", "FID syn"),
            ),
            plots=(
                Plot("auroc_internal", "AUROC, internal test", (CHANCE,)),
                Plot("auroc_external", "AUROC, external site", (CHANCE,)),
            ),
        ),
        external_site=True,
    )
)
