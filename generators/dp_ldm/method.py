"""``dp-ldm`` and ``dp-ldm-scratch``: the reference latent diffusion methods of cardiac-ldm.

One run: take the public parts from the view's public volumes (autoencoder, latent
scaling, attribute normalisation, optionally the pre-trained denoiser; all cached), map
the private training split through the frozen autoencoder and the public scaler (a
fixed per-record map, :meth:`PrivateData.map`), train the denoiser on it through the
ledger (DP-SGD at the cell's budget, or the same fixed schedule without noise at
epsilon = inf), and return an :class:`LdmGenerator`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from bench.errors import BenchError
from bench.privacy.ledger import PrivacyLedger
from bench.tasks.base import MethodContext
from bench.tasks.cardiac_ldm.api import CardiacView, Stopwatch
from generators.dp_ldm.public import (
    PublicParts,
    pretrained_denoiser,
    public_parts,
    volumes_to_latents,
)
from generators.ldm_config import LdmConfig, TrainSchedule

PRIVATE_MAP = (
    "latents of the frozen public autoencoder (a fixed per-record map) and attributes "
    "scaled with public statistics"
)


@dataclass
class LdmGenerator:
    """The trained denoiser with its frozen public autoencoder: the method's artifact."""

    model: torch.nn.Module
    parts: PublicParts
    config: LdmConfig
    device: str
    info: dict[str, Any] = field(default_factory=dict)

    @torch.no_grad()
    def generate(self, attributes: np.ndarray, seed: int) -> np.ndarray:
        """One volume (D, H, W) per row of raw ``attributes`` (n, 14), float32 in [0, 1]."""
        from generators.autoencoder import decode_latents
        from generators.ldm import sample_latents

        config, parts = self.config, self.parts
        scaled = torch.as_tensor(parts.scaler.transform(attributes)).to(self.device)
        shape = tuple(parts.latents.shape[1:])
        generator = torch.Generator(self.device).manual_seed(seed)
        latents = [
            sample_latents(
                self.model, chunk, shape, config.diffusion, sampler=config.sampler,
                steps=config.sample_steps, guidance=config.guidance, generator=generator,
            ).cpu()
            for chunk in scaled.split(config.physical_batch)
        ]  # fmt: skip
        return decode_latents(parts.autoencoder, torch.cat(latents) / parts.scale, self.device)

    def reconstruct(self, volumes: np.ndarray) -> np.ndarray:
        """The frozen autoencoder's round trip of ``volumes`` (n, D, H, W)."""
        from generators.autoencoder import decode_latents, encode_volumes

        ae = self.parts.autoencoder
        return decode_latents(ae, encode_volumes(ae, volumes, self.device), self.device)


def run(ctx: MethodContext, view: CardiacView, ledger: PrivacyLedger) -> LdmGenerator:
    """One (method, epsilon, seed) cell of either method (``config.pretrain`` differs)."""
    from generators.autoencoder import check_volume_shape
    from generators.ldm import LatentDenoiser, train_only_attention
    from generators.ldm_training import train_denoiser

    config, clock = ctx.config, Stopwatch()
    check_volume_shape(view.volume_shape)
    if config.finetune == "attention" and not config.pretrain:
        raise BenchError("finetune=attention needs pre-trained weights (pretrain=true)")
    with clock("autoencoder (public)"):
        parts = public_parts(ctx, view.public)
        data = view.private.map(_encoder(parts, ctx.device), PRIVATE_MAP)
    note_public(ledger, parts, view)
    torch.manual_seed(ctx.derive_seed("init"))
    model = LatentDenoiser(config.denoiser, tuple(parts.latents.shape[1:])).to(ctx.device)
    public_info = dict(parts.info)
    if config.pretrain:
        with clock("pre-training (public)"):
            public_info.update(pretrained_denoiser(ctx, parts, model))
        ledger.note_public(
            "denoiser pre-training (non-private)", "public latents and attributes",
            sha256=public_info["pretrained_sha256"],
        )  # fmt: skip
    if config.finetune == "attention":
        public_info["trainable_parameters"] = train_only_attention(model)
    with clock("private training"):
        train_denoiser(
            model, data, ledger, schedule(config), config.diffusion,
            seed=ctx.derive_seed("train", ctx.cell.method, ctx.cell.epsilon),
            device=ctx.device, name=f"denoiser training ({trained_parts(config)})",
            progress=ctx.progress,
        )  # fmt: skip
    info = {"public_parts": public_info, "stage_seconds": clock.seconds}
    return LdmGenerator(model.eval(), parts, config, ctx.device, info)


def _encoder(parts: PublicParts, device: str):
    def encode(volumes: torch.Tensor, attributes: torch.Tensor):
        latents = volumes_to_latents(parts, volumes.numpy(), device)
        return latents, torch.as_tensor(parts.scaler.transform(attributes.numpy()))

    return encode


def note_public(ledger: PrivacyLedger, parts: PublicParts, view: CardiacView) -> None:
    """State what was derived from public data only (privacy rule 1)."""
    data = f"{len(view.public)} public volumes ({view.public.identity['variant']})"
    ledger.note_public(
        "autoencoder weights (trained on public volumes, frozen)", data,
        sha256=parts.info["autoencoder_sha256"],
    )  # fmt: skip
    ledger.note_public("latent scaling factor (1 / std of public latents)", data, value=parts.scale)
    ledger.note_public(
        "attribute normalisation (min/max of public attributes)", data,
        **parts.scaler.as_dict(),
    )  # fmt: skip


def trained_parts(config: LdmConfig) -> str:
    attention = config.finetune == "attention"
    parts = "attention blocks + attribute embedder" if attention else "UNet + attribute embedder"
    return f"{parts}, " + ("fine-tuned" if config.pretrain else "trained")


def schedule(config: LdmConfig) -> TrainSchedule:
    return TrainSchedule(
        epochs=config.epochs,
        batch_size=config.batch_size,
        lr=config.lr,
        max_grad_norm=config.max_grad_norm,
        physical_batch=config.physical_batch,
        cfg_dropout=config.cfg_dropout,
    )


__all__ = ["LdmGenerator", "run", "schedule"]
