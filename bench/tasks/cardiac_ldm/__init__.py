"""Task ``cardiac-ldm``: attribute-conditioned 3D cardiac latent diffusion under DP (study A).

A frozen in-plane autoencoder (public data only) maps short-axis stacks to latents; a
conditional diffusion UNet with an attribute embedder (one token per attribute) is
either pre-trained on the public data and fine-tuned with DP-SGD on the private data
(``dp-ldm``) or trained with DP-SGD on the private data alone (``dp-ldm-scratch``), as
Daum et al. (arXiv 2407.16405) compare. Generated volumes, conditioned on the attributes
of the held-out private test split, are scored by FID (an offline slice-wise extractor
and a 3D one, both trained on public data, with the real-vs-real split-half floor),
MS-SSIM diversity, and controllability (Pearson r of the requested and measured LV
volume and wall thickness, and the ES/ED cycle accuracy) measured by evaluators trained
on public data. The execution lives in :mod:`bench.tasks.cardiac_ldm_cells`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

from bench.tasks import register_method, register_task
from bench.tasks.base import MethodSpec, TaskSpec, lazy
from generators.ldm_config import AutoencoderConfig, DenoiserConfig, DiffusionConfig

TASK = register_task(
    TaskSpec(
        name="cardiac-ldm",
        version=1,
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
    )
)


@dataclass(frozen=True)
class EvaluatorConfig:
    """The public-data evaluators: part of the metric, so fixed per profile (changing them
    is a new task version) and trained with a fixed seed, the same for every cell.

    Attributes:
        volumes: public volumes the evaluators are trained on.
        epochs: training epochs of the segmentation net and the 3D FID encoder.
        channels: base width of the evaluator networks.
        fid_slices: central slices per volume fed to the slice-wise FID (the paper: 7 of 13).
    """

    volumes: int
    epochs: int
    channels: int
    fid_slices: int
    seed: int = 20240716  # arXiv 2407.16405


@dataclass(frozen=True)
class LdmConfig:
    """Settings of both methods for one profile (``pretrain`` tells them apart).

    Attributes:
        volume: (D, H, W) of the volumes; H and W multiples of 4 x 2^(UNet levels - 1).
        public_volumes: public volumes for the autoencoder, scaling and pre-training.
        train_subjects, test_subjects: private subjects (two frames each) per split.
        pretrain: start from the denoiser pre-trained on public data (``dp-ldm``).
        pretrain_epochs, pretrain_batch, pretrain_lr: the public, non-private schedule.
        epochs, batch_size, lr: the fixed private schedule (DP-SGD unless epsilon = inf).
        finetune: train the whole denoiser privately (the paper's main setting) or only the
            attribute embedder and the attention blocks (its attention-only option; needs
            ``pretrain``).
        max_grad_norm: per-sample clipping bound C (the paper: 1).
        physical_batch: examples per forward pass (memory only).
        cfg_dropout, guidance: classifier-free guidance (dropout rate in training, scale
            at sampling; 0 and 1 disable it).
        sampler, sample_steps: DDIM (fast) or DDPM sampling, and its number of steps.
        save_samples: also write every generated volume as NIfTI.
        threads: torch CPU threads during the cell (0 = torch's default); one thread is
            fastest for these small models on a shared CPU (thread hand-offs dominate).
        inception_weights: a local torchvision InceptionV3 weights file; when given, the
            slice-wise FID is also computed with InceptionV3 (nothing is downloaded).
        pretrained_checkpoint, autoencoder_checkpoint: optional paths to weights to use
            instead of the suite's cached pre-training (a missing file is an error).
    """

    volume: tuple[int, int, int]
    public_volumes: int
    train_subjects: int
    test_subjects: int
    autoencoder: AutoencoderConfig
    denoiser: DenoiserConfig
    diffusion: DiffusionConfig = field(default_factory=DiffusionConfig)
    pretrain: bool = True
    pretrain_epochs: int = 40
    pretrain_batch: int = 32
    pretrain_lr: float = 1e-3
    epochs: int = 10
    batch_size: int = 64
    lr: float = 1e-3
    finetune: Literal["all", "attention"] = "all"
    max_grad_norm: float = 1.0
    physical_batch: int = 64
    cfg_dropout: float = 0.0
    guidance: float = 1.0
    sampler: Literal["ddim", "ddpm"] = "ddim"
    sample_steps: int = 25
    save_samples: bool = False
    threads: int = 1
    inception_weights: str = ""
    pretrained_checkpoint: str = ""
    autoencoder_checkpoint: str = ""


EVALUATORS = {
    "smoke": EvaluatorConfig(volumes=48, epochs=2, channels=4, fid_slices=2),
    "small": EvaluatorConfig(volumes=600, epochs=8, channels=16, fid_slices=4),
    "paper": EvaluatorConfig(volumes=2000, epochs=20, channels=32, fid_slices=7),
}

_SMOKE = LdmConfig(
    volume=(4, 16, 16),
    public_volumes=32,
    train_subjects=16,
    test_subjects=8,
    autoencoder=AutoencoderConfig(channels=(4, 8, 8), epochs=2, batch_size=8, lr=3e-3),
    denoiser=DenoiserConfig.tiny(),
    pretrain_epochs=2,
    pretrain_batch=8,
    epochs=2,
    batch_size=8,
    cfg_dropout=0.15,
    guidance=2.0,
    sample_steps=4,
)
_SMALL = LdmConfig(
    volume=(8, 32, 32),
    public_volumes=1000,
    train_subjects=500,
    test_subjects=150,
    autoencoder=AutoencoderConfig(
        channels=(8, 16, 32), epochs=12, batch_size=8, lr=3e-3, volumes=300
    ),
    denoiser=DenoiserConfig((16, 32, 32), (False, True, True), 1, 8, 32, 16, 1),
    pretrain_epochs=60,
    pretrain_batch=32,
    pretrain_lr=2e-3,
    epochs=5,
    batch_size=100,
    physical_batch=100,
    cfg_dropout=0.15,
    guidance=3.0,
    sample_steps=25,
)
_PAPER = LdmConfig(
    volume=(13, 96, 96),
    public_volumes=2000,
    train_subjects=2000,
    test_subjects=200,
    autoencoder=AutoencoderConfig(channels=(32, 64, 64), epochs=50, batch_size=16, lr=1e-3),
    denoiser=DenoiserConfig(),
    pretrain_epochs=150,
    pretrain_batch=256,
    pretrain_lr=1e-4,
    epochs=150,
    batch_size=256,
    lr=1e-4,
    physical_batch=32,
    sample_steps=50,
    threads=0,
)


def _profiles(**changes) -> dict[str, LdmConfig]:
    from dataclasses import replace

    return {
        name: replace(config, **changes)
        for name, config in (("smoke", _SMOKE), ("small", _SMALL), ("paper", _PAPER))
    }


register_method(
    MethodSpec(
        task="cardiac-ldm",
        name="dp-ldm",
        description="denoiser pre-trained on public data, fine-tuned with DP-SGD on private data",
        configs=_profiles(pretrain=True),
        run=lazy("bench.tasks.cardiac_ldm_cells:run_cell"),
    )
)
register_method(
    MethodSpec(
        task="cardiac-ldm",
        name="dp-ldm-scratch",
        description="denoiser trained with DP-SGD on private data only (no pre-training)",
        configs=_profiles(pretrain=False),
        run=lazy("bench.tasks.cardiac_ldm_cells:run_cell"),
    )
)
