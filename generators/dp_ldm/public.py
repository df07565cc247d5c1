"""What ``dp-ldm`` derives from public data only: autoencoder, scaling, pre-training.

Privacy rule 1 of the suite: the autoencoder weights, the latent scaling factor, the
attribute normalisation and the pre-trained denoiser are computed from the public
volumes of the view (``view.public``: by default the ``public`` variant of the cardiac
phantoms, another scanner and population, the role the public pre-training data play in
study A) and never from the private ones; the study's code took the latent std from a
private batch. Each part is cached under a hash of the configs, the public data's
identity and the cell seed, and stated in the record (``ledger.note_public``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from bench.checkpoints import cached, load_into, read_checkpoint
from bench.tasks.base import MethodContext
from bench.tasks.cardiac_ldm.api import AttributeScaler, PublicVolumes
from generators.autoencoder import VERSION as AE_VERSION
from generators.autoencoder import InPlaneAutoencoder, encode_volumes, latent_scale
from generators.ldm import VERSION as LDM_VERSION
from generators.ldm import LatentDenoiser
from generators.ldm_config import TrainSchedule

TASK = "cardiac-ldm"  # the cache folder (the old task module's, so caches carry over)
CODE = ("generators",)  # the package whose code trains the cached parts (cache keys)


@dataclass(frozen=True)
class PublicParts:
    """The frozen public-data components of one cell.

    Attributes:
        autoencoder: frozen, in eval mode, on the cell's device.
        scale: latent scaling factor (1 / std of the public latents).
        scaler: attribute normalisation fitted on the public attributes.
        latents, attributes: the public training set, scaled (for pre-training).
        info: what the record says about them (data identity, weight hashes).
    """

    autoencoder: InPlaneAutoencoder
    scale: float
    scaler: AttributeScaler
    latents: torch.Tensor
    attributes: torch.Tensor
    info: dict[str, Any]


def public_parts(ctx: MethodContext, data: PublicVolumes) -> PublicParts:
    """Autoencoder, scaling and public training set of the cell (cached)."""
    config, identity = ctx.config, data.identity
    model = InPlaneAutoencoder(config.autoencoder)
    if config.autoencoder_checkpoint:
        what = "autoencoder_checkpoint"
        state, meta, sha = read_checkpoint(config.autoencoder_checkpoint, what)
    else:
        key = {
            "data": identity,
            "autoencoder": dataclasses.asdict(config.autoencoder),
            "code_version": AE_VERSION,
            "seed": ctx.derive_seed("autoencoder"),
        }
        state, meta, sha = cached(
            TASK, "autoencoder", key, lambda: _train_ae(ctx, data, key["seed"]),
            device=ctx.device, code=CODE,
        )  # fmt: skip
        what = "cached autoencoder"
    load_into(model, state, what)
    model = model.to(ctx.device).eval().requires_grad_(False)
    latents = encode_volumes(model, data.images, ctx.device)
    scale = meta.get("latent_scale") or latent_scale(latents)
    scaler = AttributeScaler.fit(data.attributes)
    info = {"data": identity, "autoencoder_sha256": sha, "latent_scale": scale}
    attributes = torch.as_tensor(scaler.transform(data.attributes))
    return PublicParts(model, scale, scaler, latents * scale, attributes, info)


def _train_ae(ctx: MethodContext, data: PublicVolumes, seed: int) -> tuple[dict, dict]:
    from generators.autoencoder import train_autoencoder

    model = train_autoencoder(
        data.images, ctx.config.autoencoder, seed, ctx.device, progress=ctx.progress
    )
    scale = latent_scale(encode_volumes(model, data.images, ctx.device))
    return model.state_dict(), {"latent_scale": scale}


def pretrained_denoiser(ctx: MethodContext, parts: PublicParts, model: LatentDenoiser) -> dict:
    """Load the public pre-training into ``model``; return what the record says about it.

    The pre-training is non-private (the data are public) with a fixed schedule; it is
    keyed by the autoencoder's hash, so it never pairs with a different latent space.
    """
    config = ctx.config
    if config.pretrained_checkpoint:
        what = "pretrained_checkpoint"
        state, meta, sha = read_checkpoint(config.pretrained_checkpoint, what)
        made_for = meta.get("key", {}).get("autoencoder_sha256")
        if made_for not in (None, parts.info["autoencoder_sha256"]):
            raise _mismatch(config.pretrained_checkpoint, made_for)
    else:
        key = {
            "autoencoder_sha256": parts.info["autoencoder_sha256"],
            "denoiser": dataclasses.asdict(config.denoiser),
            "diffusion": dataclasses.asdict(config.diffusion),
            "code_version": LDM_VERSION,
            "schedule": dataclasses.asdict(pretrain_schedule(config)),
            "seed": ctx.derive_seed("pretrain"),
        }
        state, meta, sha = cached(
            TASK, "pretrained", key, lambda: _pretrain(ctx, parts, key["seed"]),
            device=ctx.device, code=CODE,
        )  # fmt: skip
        what = "cached pre-trained denoiser"
    load_into(model, state, what)
    return {
        "pretrained_sha256": sha,
        "pretrain_schedule": dataclasses.asdict(pretrain_schedule(config)),
    }


def pretrain_schedule(config) -> TrainSchedule:
    return TrainSchedule(
        epochs=config.pretrain_epochs,
        batch_size=config.pretrain_batch,
        lr=config.pretrain_lr,
        physical_batch=config.physical_batch,
        cfg_dropout=config.cfg_dropout,
    )


def _pretrain(ctx: MethodContext, parts: PublicParts, seed: int) -> tuple[dict, dict]:
    from generators.ldm_training import pretrain_denoiser

    config = ctx.config
    torch.manual_seed(seed)
    model = LatentDenoiser(config.denoiser, tuple(parts.latents.shape[1:])).to(ctx.device)
    pretrain_denoiser(  # public data: no DP needed
        model, parts.latents, parts.attributes, pretrain_schedule(config),
        config.diffusion, seed=seed, device=ctx.device, progress=ctx.progress,
    )  # fmt: skip
    return model.state_dict(), {}


def _mismatch(path: str, made_for: str):
    from bench.checkpoints import CheckpointError

    return CheckpointError(
        f"pretrained_checkpoint {path} was trained on the latents of another autoencoder "
        f"(SHA-256 {made_for[:12]}...); use the autoencoder it was made with"
    )


def volumes_to_latents(parts: PublicParts, volumes: np.ndarray, device: str) -> torch.Tensor:
    """Scaled latents of volumes through the frozen public autoencoder (a per-record map)."""
    return encode_volumes(parts.autoencoder, volumes, device) * parts.scale
