"""The conditional latent diffusion model of study A: denoiser, DDPM loss and samplers.

:class:`LatentDenoiser` is MONAI's 3D ``DiffusionModelUNet`` with cross-attention to the
context of an :class:`~generators.conditioning.AttributeEmbedder` (one token per
attribute), predicting the noise (epsilon) of a DDPM with the paper's linear schedule
(T = 150, beta 1e-4 -> 7e-2). Both are one ``nn.Module``, so that opacus computes
per-sample gradients of the UNet and the embedder together. The UNet halves every
dimension at each level, so the latent's depth is zero-padded to a multiple of
2^(levels - 1) and cropped again (13 slices -> 16 at the paper size).

Example:
    >>> model = LatentDenoiser(DenoiserConfig.tiny(), latent_shape=(1, 3, 4, 4))
    >>> model(torch.zeros(2, 1, 3, 4, 4), torch.tensor([0, 5]), torch.zeros(2, 14)).shape
    torch.Size([2, 1, 3, 4, 4])
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from generators.autoencoder import VolumeShapeError
from generators.conditioning import MISSING, N_ATTRIBUTES, AttributeEmbedder
from generators.ldm_config import DenoiserConfig, DiffusionConfig

Sampler = Literal["ddim", "ddpm"]
VERSION = 1  # of the denoiser and its training code; part of every cache key


class LatentDenoiser(nn.Module):
    """Noise prediction eps(z_t, t, attributes) on latents (C, D, h, w)."""

    def __init__(self, config: DenoiserConfig, latent_shape: tuple[int, int, int, int]) -> None:
        super().__init__()
        from monai.networks.nets import DiffusionModelUNet

        channels, depth, *plane = latent_shape
        factor = 2 ** (len(config.channels) - 1)
        if any(s % factor for s in plane):
            raise VolumeShapeError(
                f"latent in-plane size {tuple(plane)} must be a multiple of {factor} for a "
                f"UNet with {len(config.channels)} levels (volume H and W multiples of "
                f"{4 * factor})"
            )
        self.depth_pad = -depth % factor
        self.embedder = AttributeEmbedder(dim=config.embed_dim, heads=config.embed_heads)
        self.unet = DiffusionModelUNet(
            spatial_dims=3,
            in_channels=channels,
            out_channels=channels,
            num_res_blocks=config.res_blocks,
            channels=config.channels,
            attention_levels=config.attention_levels,
            norm_num_groups=config.norm_groups,
            num_head_channels=config.head_channels,
            with_conditioning=True,
            cross_attention_dim=config.embed_dim,
        )

    def forward(self, z_t: Tensor, timesteps: Tensor, attributes: Tensor) -> Tensor:
        context = self.embedder(attributes)
        padded = F.pad(z_t, (0, 0, 0, 0, 0, self.depth_pad))
        return self.unet(padded, timesteps, context=context)[:, :, : z_t.shape[2]]


def train_only_attention(model: LatentDenoiser) -> int:
    """Freeze everything but the attribute embedder and the UNet's attention blocks (the
    paper's attention-only fine-tuning); return the number of trainable parameters.

    Under DP this also raises the signal-to-noise ratio: the clipped per-example gradient
    is spread over fewer coordinates while the noise per coordinate stays the same.
    """
    for name, param in model.named_parameters():
        param.requires_grad_(name.startswith("embedder.") or ".attentions." in name)
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def make_scheduler(config: DiffusionConfig, kind: Sampler = "ddpm"):
    """MONAI's DDPM (training, ancestral sampling) or DDIM (fast sampling) scheduler.

    ``clip_sample`` is off: latents have unit standard deviation, not a [-1, 1] range.
    """
    from monai.networks.schedulers import DDIMScheduler, DDPMScheduler

    cls = DDPMScheduler if kind == "ddpm" else DDIMScheduler
    return cls(
        num_train_timesteps=config.timesteps,
        schedule="linear_beta",
        beta_start=config.beta_start,
        beta_end=config.beta_end,
        clip_sample=False,
    )


def diffusion_loss(
    model: nn.Module, z0: Tensor, attributes: Tensor, scheduler, generator: torch.Generator
) -> Tensor:
    """The epsilon-prediction MSE at uniform random timesteps, averaged over the batch.

    The mean over the batch matches opacus's ``loss_reduction="mean"``: each example's
    gradient is that of its own mean squared error.
    """
    noise = torch.randn(z0.shape, generator=generator, device=z0.device)
    steps = scheduler.num_train_timesteps
    t = torch.randint(0, steps, (len(z0),), generator=generator, device=z0.device)
    return F.mse_loss(model(scheduler.add_noise(z0, noise, t), t, attributes), noise)


def drop_attributes(attributes: Tensor, rate: float, generator: torch.Generator) -> Tensor:
    """Classifier-free guidance training: each row becomes all-missing with prob. ``rate``."""
    if rate <= 0:
        return attributes
    drop = torch.rand(len(attributes), generator=generator, device=attributes.device) < rate
    return torch.where(drop[:, None], torch.full_like(attributes, MISSING), attributes)


@torch.no_grad()
def sample_latents(
    model: nn.Module,
    attributes: Tensor,
    latent_shape: tuple[int, ...],
    diffusion: DiffusionConfig,
    *,
    sampler: Sampler = "ddim",
    steps: int = 50,
    guidance: float = 1.0,
    generator: torch.Generator,
) -> Tensor:
    """Latents (B, *latent_shape) for the (scaled) attributes, by DDIM or DDPM sampling.

    ``guidance`` > 1 is classifier-free guidance against the all-missing condition
    (the model must have been trained with attribute dropout).
    """
    scheduler = make_scheduler(diffusion, sampler)
    scheduler.set_timesteps(steps)
    device = attributes.device
    z = torch.randn((len(attributes), *latent_shape), generator=generator, device=device)
    null = torch.full_like(attributes, MISSING)
    for t in scheduler.timesteps:
        ts = torch.full((len(z),), int(t), device=device, dtype=torch.long)
        eps = model(z, ts, attributes)
        if guidance != 1.0:
            uncond = model(z, ts, null)
            eps = uncond + guidance * (eps - uncond)
        # DDPM draws fresh noise at every step; DDIM (eta = 0) is deterministic given z_T
        extra = {"generator": generator} if sampler == "ddpm" else {}
        z, _ = scheduler.step(eps, int(t), z, **extra)
    return z


__all__ = [
    "N_ATTRIBUTES",
    "DenoiserConfig",
    "DiffusionConfig",
    "LatentDenoiser",
    "diffusion_loss",
    "drop_attributes",
    "make_scheduler",
    "sample_latents",
    "train_only_attention",
]
