"""Frozen configurations of the cardiac latent diffusion model, importable without torch.

The method declarations (:mod:`generators.methods`) build these per profile; keeping them
free of torch keeps ``bench list`` and ``bench --help`` fast.

Example:
    >>> DenoiserConfig().channels, DiffusionConfig().timesteps
    ((128, 256, 384), 150)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


@dataclass(frozen=True)
class AutoencoderConfig:
    """Architecture and (public-data) training schedule of the autoencoder.

    Attributes:
        channels: feature channels of the three resolution levels (full, 1/2, 1/4).
        latent_channels: channels of the latent (the paper: 1).
        kl_weight: weight of the KL term against the L1 reconstruction loss.
        epochs, batch_size, lr: the fixed training schedule (Adam).
        volumes: train on the first ``volumes`` public volumes only (0 = all of them).
    """

    channels: tuple[int, int, int] = (32, 64, 64)
    latent_channels: int = 1
    kl_weight: float = 1e-6
    epochs: int = 20
    batch_size: int = 16
    lr: float = 1e-3
    volumes: int = 0


@dataclass(frozen=True)
class DenoiserConfig:
    """Architecture of the diffusion UNet and its attribute embedder.

    The paper: channels (128, 256, 384), attention at levels 2 and 3, 2 res blocks per
    level, GroupNorm(16), attribute embedding dim 16.
    """

    channels: tuple[int, ...] = (128, 256, 384)
    attention_levels: tuple[bool, ...] = (False, True, True)
    res_blocks: int = 2
    norm_groups: int = 16
    head_channels: int = 32
    embed_dim: int = 16
    embed_heads: int = 1

    @classmethod
    def tiny(cls) -> DenoiserConfig:
        """About 0.1 M parameters: tests and the smoke profile."""
        return cls((8, 16), (False, True), 1, 8, 8, 8, 1)


@dataclass(frozen=True)
class DiffusionConfig:
    """The DDPM noise schedule (the paper: T = 150, linear beta from 1e-4 to 7e-2)."""

    timesteps: int = 150
    beta_start: float = 1e-4
    beta_end: float = 7e-2


@dataclass(frozen=True)
class TrainSchedule:
    """A fixed training schedule of the denoiser.

    Attributes:
        epochs: passes over the data; under DP, epochs / q Poisson-sampled steps.
        batch_size: the (expected, under DP) logical batch size.
        lr: Adam learning rate.
        max_grad_norm: per-sample clipping bound C under DP (the paper: 1).
        physical_batch: examples per forward/backward pass (memory only, not the maths).
        cfg_dropout: probability of replacing an example's attributes by all-missing
            (classifier-free guidance training); 0 disables it.
    """

    epochs: int
    batch_size: int
    lr: float
    max_grad_norm: float = 1.0
    physical_batch: int = 64
    cfg_dropout: float = 0.0


@dataclass(frozen=True)
class LdmConfig:
    """Hyper-parameters of ``dp-ldm`` and ``dp-ldm-scratch`` (``pretrain`` tells them apart).

    The task's protocol (volume size, data sizes, evaluators) is not here: it comes with
    the view and ``ctx.settings``.

    Attributes:
        autoencoder, denoiser, diffusion: the models (:class:`AutoencoderConfig`...).
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
        pretrained_checkpoint, autoencoder_checkpoint: optional paths to weights to use
            instead of the method's cached public training (a missing file is an error).
    """

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
    pretrained_checkpoint: str = ""
    autoencoder_checkpoint: str = ""
