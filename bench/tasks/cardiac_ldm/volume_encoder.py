"""A 3D FID feature extractor for cardiac short-axis stacks, trained on public data.

The slice-wise FID of study A uses the suite's offline extractor of
:mod:`bench.metrics.extractors` (``phantom-encoder-v1``) on the central slices; for a
whole-volume (3D) FID no shipped network exists, so the task trains
``cardiac-volume-encoder`` on public volumes (``--public-data``, default the public
phantoms) with a fixed seed and schedule, and names it with a version and the SHA-256
of its weights in every record. It is a small CNN (in-plane convolutions, then one
across slices) trained to regress the 14 attributes (scaled with public statistics;
missing ones masked out of the loss) and three intensity statistics (mean, spread,
gradient energy), so that its features see anatomy across slices and image quality.

The penultimate layer gives the features. Example:
    >>> VolumeEncoder(channels=4, dim=8)(torch.zeros(3, 1, 4, 16, 16))[0].shape
    torch.Size([3, 8])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn

VERSION = 1
VOLUME_DIM = 32


def _block(cin: int, cout: int, kernel: tuple[int, int, int]) -> list[nn.Module]:
    pad = tuple(k // 2 for k in kernel)
    return [nn.Conv3d(cin, cout, kernel, padding=pad), nn.GroupNorm(4, cout), nn.SiLU()]


class VolumeEncoder(nn.Module):
    """(B, 1, D, H, W) -> (features (B, dim), regression outputs (B, targets))."""

    def __init__(self, channels: int = 16, dim: int = VOLUME_DIM, targets: int = 17) -> None:
        super().__init__()
        c = channels
        self.body = nn.Sequential(
            *_block(1, c, (1, 3, 3)), nn.MaxPool3d((1, 2, 2)),
            *_block(c, 2 * c, (1, 3, 3)), nn.MaxPool3d((1, 2, 2)),
            *_block(2 * c, 4 * c, (3, 3, 3)), nn.AdaptiveAvgPool3d((2, 2, 2)), nn.Flatten(),
            nn.Linear(32 * c, dim),
        )  # fmt: skip
        self.head = nn.Sequential(nn.SiLU(), nn.Linear(dim, targets))

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        features = self.body(x)
        return features, self.head(features)


def image_statistics(images: np.ndarray) -> np.ndarray:
    """Mean, standard deviation and mean absolute in-plane gradient of each image (n, 3)."""
    flat = images.reshape(len(images), -1)
    grad = np.abs(np.diff(images, axis=-1)).mean(axis=tuple(range(1, images.ndim)))
    return np.stack([flat.mean(1), flat.std(1), grad], axis=1)


@dataclass(frozen=True)
class VolumeExtractor:
    """The trained volume encoder and what the record says about it."""

    model: nn.Module
    weights_sha256: str
    device: str
    name: str = "cardiac-volume-encoder"
    version: int = VERSION
    preprocessing: str = "whole volume at the profile's size, intensities in [0, 1]"

    @torch.no_grad()
    def features(self, images: np.ndarray, batch: int = 256) -> np.ndarray:
        """float64 features (n, dim) of volumes (n, D, H, W) in [0, 1]."""
        data = torch.as_tensor(np.asarray(images), dtype=torch.float32)[:, None]
        out = [self.model(x.to(self.device))[0].double().cpu() for x in data.split(batch)]
        return torch.cat(out).numpy()

    def describe(self) -> dict:
        return {
            "name": self.name,
            "version": self.version,
            "weights_sha256": self.weights_sha256,
            "preprocessing": self.preprocessing,
        }


def central_slices(volumes: np.ndarray, count: int) -> np.ndarray:
    """The ``count`` central slices of each volume, as images (n * count, H, W).

    >>> central_slices(np.arange(13)[None, :, None, None] * np.ones((1, 13, 2, 2)), 7)[:, 0, 0]
    array([3., 4., 5., 6., 7., 8., 9.])
    """
    depth = volumes.shape[1]
    count = min(count, depth)
    lo = (depth - count) // 2
    return volumes[:, lo : lo + count].reshape(-1, *volumes.shape[2:])


def _standardise(targets: np.ndarray) -> Tensor:
    mean, std = targets.mean(0), targets.std(0)
    return torch.as_tensor((targets - mean) / np.where(std > 0, std, 1.0), dtype=torch.float32)


def train_volume_encoder(
    volumes: np.ndarray,
    scaled_attributes: np.ndarray,
    *,
    channels: int,
    epochs: int,
    seed: int,
    device: str,
) -> nn.Module:
    """Fit the volume encoder on public volumes and their public-scaled attributes
    (-1 = missing, left out of the loss)."""
    from bench.tasks.cardiac_ldm.segmentation import fit

    data = torch.as_tensor(volumes, dtype=torch.float32)[:, None]
    stats = _standardise(image_statistics(volumes))
    attrs = torch.as_tensor(scaled_attributes, dtype=torch.float32)
    target = torch.cat([attrs, stats], dim=1)
    known = torch.cat([attrs != -1, torch.ones_like(stats, dtype=torch.bool)], dim=1)
    torch.manual_seed(seed)

    def loss_of(model, index):
        error = (model(data[index].to(device))[1] - target[index].to(device)) ** 2
        mask = known[index].to(device)
        return (error * mask).sum() / mask.sum().clamp_min(1)

    model = VolumeEncoder(channels, targets=target.shape[1])
    return fit(
        model, data, loss_of, epochs=epochs, seed=seed, device=device, batch_size=16,
        desc="evaluators (public): volume encoder",
    )  # fmt: skip
