"""Task ``cardiac-ldm``: attribute-conditioned 3D cardiac generation under DP (study A).

The task owns the protocol: the private data split by subject (:mod:`.data`), the view
a method sees (:mod:`.api`: public volumes, the private training split behind the
ledger, the volume shape and attribute order), and the scoring (:mod:`.scoring`): one
volume generated per held-out test volume, conditioned on its attributes, scored by FID
(an offline slice-wise extractor and a 3D one trained on public data, with the
real-vs-real split-half floor), MS-SSIM diversity and controllability (Pearson r of the
requested and measured LV volume and wall thickness, and the ES/ED cycle accuracy)
measured by evaluators trained on public data (:mod:`.evaluators`). The reference
methods ``dp-ldm`` and ``dp-ldm-scratch`` (Daum et al., arXiv 2407.16405) live in
:mod:`generators.dp_ldm`. This module is a declaration: it imports no torch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from bench.readout import Column, Plot, Readout, Reference
from bench.tasks import register_task
from bench.tasks.base import TaskSpec


@dataclass(frozen=True)
class EvaluatorSettings:
    """The public-data evaluators: part of the metric, fixed per profile and trained with a
    fixed seed, the same for every cell.

    Attributes:
        volumes: public volumes the evaluators are trained on.
        epochs: training epochs of the segmentation net and the 3D FID encoder.
        channels: base width of the evaluator networks.
        fid_slices: central slices per volume fed to the slice-wise FID (the paper: 7 of 13).
        inception_weights: a local torchvision InceptionV3 weights file; when given, the
            slice-wise FID is also computed with InceptionV3 (nothing is downloaded).
    """

    volumes: int
    epochs: int
    channels: int
    fid_slices: int
    seed: int = 20240716  # arXiv 2407.16405
    inception_weights: str = ""


@dataclass(frozen=True)
class CardiacSettings:
    """The protocol of one profile.

    Attributes:
        volume: (D, H, W) of every volume; H and W multiples of 16 for the reference models.
        public_volumes: public volumes in the view (for autoencoder, scaling, pre-training).
        train_subjects, test_subjects: private subjects (two frames each) per split.
        evaluators: the scoring networks (see :class:`EvaluatorSettings`).
        risk_dim: values of the record the risk block's prior-free bound reconstructs:
            the paper's latent (1 x D x H/4 x W/4), what DP-SGD sees of one volume.
        risk_nmse, risk_kappa: success criteria of the risk block (relative squared error
            within 10 %; a prior of 10 candidates, as in the recon-attack task).
        save_samples: also write every generated volume as NIfTI.
    """

    volume: tuple[int, int, int]
    public_volumes: int
    train_subjects: int
    test_subjects: int
    evaluators: EvaluatorSettings
    risk_nmse: float = 0.1
    risk_kappa: float = 0.1
    save_samples: bool = False

    @property
    def risk_dim(self) -> int:
        depth, rows, cols = self.volume
        return depth * (rows // 4) * (cols // 4)


SETTINGS = {
    "smoke": CardiacSettings(
        volume=(4, 16, 16),
        public_volumes=32,
        train_subjects=16,
        test_subjects=8,
        evaluators=EvaluatorSettings(volumes=48, epochs=2, channels=4, fid_slices=2),
    ),
    "small": CardiacSettings(
        volume=(8, 32, 32),
        public_volumes=1000,
        train_subjects=500,
        test_subjects=150,
        evaluators=EvaluatorSettings(volumes=600, epochs=8, channels=16, fid_slices=4),
    ),
    "paper": CardiacSettings(
        volume=(13, 96, 96),
        public_volumes=2000,
        train_subjects=2000,
        test_subjects=200,
        evaluators=EvaluatorSettings(volumes=2000, epochs=20, channels=32, fid_slices=7),
    ),
}

TASK = register_task(
    TaskSpec(
        name="cardiac-ldm",
        version=2,
        description="attribute-conditioned 3D cardiac latent diffusion: public pre-training "
        "+ DP fine-tuning vs DP from scratch (FID, controllability, MS-SSIM diversity)",
        primary_metric="fid",
        summary_metrics=(
            "fid",
            "fid_floor",
            "fid_3d",
            "fid_3d_floor",
            "msssim_generated",
            "msssim_real",
            "lv_volume_r",
            "myo_thickness_r",
            "cycle_accuracy",
        ),
        delta=1e-5,
        default_eps=(1.0, 10.0, math.inf),
        default_seeds=(0,),
        default_methods=("dp-ldm", "dp-ldm-scratch"),
        datasets=("phantom-cardiac", "ukbb", "acdc", "mnms", "sunnybrook"),
        privacy_unit="one volume (one cardiac phase of one subject; a subject's ED and ES "
        "frames are two records)",
        protocol="bench.tasks.cardiac_ldm.protocol:PROTOCOL",
        settings=SETTINGS,
        records_per_subject=2,  # ED and ES of one heart: the record states subject-level eps
        readout=Readout(
            columns=(
                Column("fid", "FID"),
                Column("lv_volume_r", "LV r"),
                Column("msssim_generated", "MS-SSIM"),
                Column("fid_3d", "FID 3D"),
                Column("myo_thickness_r", "myo r"),
                Column("cycle_accuracy", "cycle acc"),
            ),
            plots=(
                Plot(
                    "fid",
                    "FID, slice-wise",
                    (
                        Reference("real vs real (floor)", "fid_floor"),
                        Reference("autoencoder reconstructions", "fid_reconstruction"),
                    ),
                ),
                Plot(
                    "lv_volume_r",
                    "LV volume control (Pearson r)",
                    (Reference("real test volumes", "lv_volume_r_real"),),
                ),
                Plot(
                    "msssim_generated",
                    "MS-SSIM of generated pairs",
                    (Reference("real test pairs", "msssim_real"),),
                ),
            ),
        ),
    )
)
