"""The frozen 3D autoencoder of the cardiac latent diffusion model (study A's design).

A KL-regularised autoencoder whose 3D convolutions act in-plane only (kernels 1 x k x k):
each short-axis slice is compressed 4x in each in-plane direction to one latent channel,
so a (D, H, W) volume becomes a (1, D, H/4, W/4) latent; the decoder ends in a sigmoid.
It is trained on public data only and frozen afterwards, so encoding a private volume is
a fixed per-record map that costs no privacy (the study's code also trained an
adversarial discriminator on private images without DP; this suite has none).

Example:
    >>> ae = InPlaneAutoencoder(AutoencoderConfig(channels=(4, 8, 8)))
    >>> ae.encode(torch.zeros(2, 1, 3, 16, 16))[0].shape
    torch.Size([2, 1, 3, 4, 4])
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from bench.errors import BenchError
from generators.ldm_config import AutoencoderConfig

COMPRESSION = 4  # in-plane, per direction: two stride-2 stages (the paper's 96 -> 24)
VERSION = 2  # of the architecture and training code; part of every cache key


class VolumeShapeError(BenchError, ValueError):
    """A volume shape the autoencoder (or the diffusion UNet) cannot take."""


def check_volume_shape(shape: tuple[int, ...], multiple: int = COMPRESSION) -> None:
    """Raise unless ``shape`` is (D, H, W) with H and W positive multiples of ``multiple``.

    >>> check_volume_shape((13, 96, 96))
    >>> check_volume_shape((13, 90, 96))
    Traceback (most recent call last):
    ...
    generators.autoencoder.VolumeShapeError: volume shape (13, 90, 96): the autoencoder ...
    """
    shape = tuple(int(s) for s in shape)
    ok = len(shape) == 3 and shape[0] >= 1 and all(s >= multiple for s in shape[1:])
    if not ok or any(s % multiple for s in shape[1:]):
        raise VolumeShapeError(
            f"volume shape {shape}: the autoencoder compresses {COMPRESSION}x in-plane, so it "
            f"needs (D, H, W) with H and W multiples of {multiple} (e.g. (13, 96, 96))"
        )


def _conv(cin: int, cout: int, stride: int = 1) -> nn.Conv3d:
    return nn.Conv3d(cin, cout, (1, 3, 3), stride=(1, stride, stride), padding=(0, 1, 1))


class _SliceNorm(nn.GroupNorm):
    """GroupNorm over each slice on its own: statistics over a whole volume would let
    one slice's content shift another's features, and the design is in-plane only."""

    def forward(self, x: Tensor) -> Tensor:
        batch, channels, depth, rows, cols = x.shape
        flat = x.transpose(1, 2).reshape(batch * depth, channels, rows, cols)
        out = super().forward(flat).reshape(batch, depth, channels, rows, cols)
        return out.transpose(1, 2)


def _norm(channels: int) -> nn.GroupNorm:
    return _SliceNorm(min(8, channels), channels)


class _ResBlock(nn.Module):
    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            _norm(cin), nn.SiLU(), _conv(cin, cout), _norm(cout), nn.SiLU(), _conv(cout, cout)
        )
        self.skip = nn.Identity() if cin == cout else nn.Conv3d(cin, cout, 1)

    def forward(self, x: Tensor) -> Tensor:
        return self.skip(x) + self.body(x)


class _Up(nn.Module):
    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.conv = _conv(cin, cout)

    def forward(self, x: Tensor) -> Tensor:
        return self.conv(F.interpolate(x, scale_factor=(1, 2, 2), mode="nearest"))


class InPlaneAutoencoder(nn.Module):
    """KL autoencoder with in-plane convolutions and 4x in-plane compression."""

    def __init__(self, config: AutoencoderConfig | None = None) -> None:
        super().__init__()
        config = config or AutoencoderConfig()
        c0, c1, c2 = config.channels
        z = config.latent_channels
        self.encoder = nn.Sequential(
            _conv(1, c0), _ResBlock(c0, c0), _conv(c0, c1, 2), _ResBlock(c1, c1),
            _conv(c1, c2, 2), _ResBlock(c2, c2), _norm(c2), nn.SiLU(), _conv(c2, 2 * z),
        )  # fmt: skip
        self.decoder = nn.Sequential(
            _conv(z, c2), _ResBlock(c2, c2), _Up(c2, c1), _ResBlock(c1, c1),
            _Up(c1, c0), _ResBlock(c0, c0), _norm(c0), nn.SiLU(), _conv(c0, 1), nn.Sigmoid(),
        )  # fmt: skip

    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """(B, 1, D, H, W) -> posterior mean and log-variance, each (B, z, D, H/4, W/4)."""
        check_volume_shape(tuple(x.shape[2:]))
        mean, logvar = self.encoder(x).chunk(2, dim=1)
        return mean, logvar.clamp(-30.0, 20.0)

    def decode(self, z: Tensor) -> Tensor:
        return self.decoder(z)

    def forward(self, x: Tensor, generator: torch.Generator | None = None):
        mean, logvar = self.encode(x)
        noise = torch.randn(mean.shape, generator=generator, device=mean.device)
        return self.decode(mean + noise * (0.5 * logvar).exp()), mean, logvar


def train_autoencoder(
    volumes: np.ndarray, config: AutoencoderConfig, seed: int, device: str, progress=None
) -> InPlaneAutoencoder:
    """Train on ``volumes`` (n, D, H, W) in [0, 1] (public data only), return it frozen.

    ``progress`` wraps the epochs in the run's progress display (``ctx.progress``)."""
    check_volume_shape(volumes.shape[1:])
    volumes = volumes[: config.volumes or len(volumes)]
    torch.manual_seed(seed)
    model = InPlaneAutoencoder(config).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    data = torch.as_tensor(volumes, dtype=torch.float32)[:, None]
    order = torch.Generator().manual_seed(seed)
    noise = torch.Generator(device).manual_seed(seed + 1)
    epochs = range(config.epochs)
    for _ in progress(epochs, desc="autoencoder (public)", unit="epoch") if progress else epochs:
        for index in torch.randperm(len(data), generator=order).split(config.batch_size):
            x = data[index].to(device)
            recon, mean, logvar = model(x, generator=noise)
            kl = 0.5 * (mean**2 + logvar.exp() - 1 - logvar).flatten(1).sum(1).mean()
            loss = F.l1_loss(recon, x) + config.kl_weight * kl
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return model.eval().requires_grad_(False)


@torch.no_grad()
def encode_volumes(model: InPlaneAutoencoder, volumes: np.ndarray, device: str, batch: int = 32):
    """Posterior means (n, z, D, H/4, W/4) of (n, D, H, W) volumes, on the CPU."""
    check_volume_shape(volumes.shape[1:])
    data = torch.as_tensor(volumes, dtype=torch.float32)[:, None]
    return torch.cat([model.encode(x.to(device))[0].cpu() for x in data.split(batch)])


@torch.no_grad()
def decode_latents(model: InPlaneAutoencoder, latents: Tensor, device: str, batch: int = 32):
    """Volumes (n, D, H, W) in [0, 1] as float32 numpy from latents (n, z, D, h, w)."""
    out = [model.decode(z.to(device))[:, 0].float().cpu() for z in latents.split(batch)]
    return torch.cat(out).numpy()


def latent_scale(latents: Tensor) -> float:
    """The scaling factor 1 / std of (public) latents, so that scaled latents have unit std.

    >>> latent_scale(torch.full((4, 1, 2, 2, 2), 3.0) + torch.tensor([-2.0, 2.0]).repeat(16)
    ...     .reshape(4, 1, 2, 2, 2))
    0.5
    """
    return float(1.0 / latents.double().std(unbiased=False).clamp_min(1e-8))
