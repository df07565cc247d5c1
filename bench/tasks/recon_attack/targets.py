"""The private targets of ``recon-attack``: drawn by the task, never shown to an attack.

The targets depend on the cell seed only (``ctx.derive_seed("targets")``), so every
epsilon and every attack of a threat model attacks the same images.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import numpy as np

from bench.errors import DatasetError
from bench.tasks.base import CellContext

_SLICES_PER_VOLUME = 7  # the 7 central slices, as the cardiac FID protocol of study A
_SOURCE_SIZE = 32  # phantom in-plane size the targets are downsampled from


@dataclass(frozen=True)
class Targets:
    """Target images in [0, 1] (n, s, s), their class labels, and the data's identity."""

    images: np.ndarray
    labels: np.ndarray
    dataset: dict


def load_targets(ctx: CellContext, n: int, image_size: int, *, distinct: bool = False) -> Targets:
    """``n`` private images, area-downsampled to ``image_size``: phantoms of the private
    variant, or the real dataset at ``--data-root`` (through :func:`bench.datasets.loading.load`).

    A real dataset is a fixed pool: the targets are a seeded permutation of it, taken
    again from the start when a cell has more trials than the pool has images (each
    trial is still a fresh DP release); the record says how many were distinct.
    ``distinct`` (a candidate set) refuses a pool smaller than ``n``: repeated candidates
    would make identification ambiguous.
    """
    import torch
    import torch.nn.functional as F

    from bench.datasets import DATASETS
    from bench.datasets.loading import load, pool_index

    seed = ctx.derive_seed("targets")
    spec = DATASETS.get(ctx.dataset)
    if spec.modality == "cardiac":
        raw, labels, source = _cardiac_slices(ctx, n, seed)
    else:
        count = n if spec.builtin else None
        data = load(ctx.dataset, root=ctx.data_root, shape=_SOURCE_SIZE * 2, n=count, seed=seed)
        raw, labels, source = data.images, data.labels, data.provenance
    pool = len(raw)
    if not spec.builtin:
        if n > pool and distinct:
            raise DatasetError(
                f"{ctx.dataset} gives {pool} distinct target images, identification needs "
                f"prior_size={n}; use --set protocol.informed.prior_size={pool} or more data"
            )
        index = pool_index(pool, n, seed)
        raw, labels = raw[index], labels[index]
    pooled = F.adaptive_avg_pool2d(torch.from_numpy(raw[:, None]).float(), image_size)
    images = pooled[:, 0].numpy().astype(np.float64)
    digest = hashlib.sha256(images.astype(np.float32).tobytes()).hexdigest()[:16]
    dataset = {
        "name": ctx.dataset,
        "variant": source.variant,
        "samples": n,
        "image_size": image_size,
        "seed": seed,
        "content_hash": digest,
    }
    if not spec.builtin:
        dataset.update(
            root_content_hash=source.root_hash,
            preprocessing=source.preprocessing,
            distinct_samples=min(pool, n),
            skipped_files=len(source.problems),
        )
    return Targets(images, labels.astype(np.int64), dataset)


def _cardiac_slices(ctx: CellContext, n: int, seed: int):
    """Central short-axis slices of the volumes; label = phase (ESED, 1 = ED).

    Phantoms: just enough volumes for ``n`` slices. Real data: every central slice
    that is not empty (padding slices have no norm to rescale).
    """
    from bench.datasets import DATASETS
    from bench.datasets.loading import load

    builtin = DATASETS.get(ctx.dataset).builtin
    volumes = math.ceil(n / _SLICES_PER_VOLUME) if builtin else None
    shape = (13, _SOURCE_SIZE, _SOURCE_SIZE)
    data = load(ctx.dataset, root=ctx.data_root, shape=shape, n=volumes, seed=seed)
    lo = (data.images.shape[1] - _SLICES_PER_VOLUME) // 2
    slices = data.images[:, lo : lo + _SLICES_PER_VOLUME].reshape(-1, _SOURCE_SIZE, _SOURCE_SIZE)
    phase = np.repeat(data.column("ESED"), _SLICES_PER_VOLUME)
    if builtin:
        return slices[:n], phase[:n], data.provenance
    keep = slices.reshape(len(slices), -1).max(axis=1) > 0
    return slices[keep], phase[keep], data.provenance


def rescaled(images: np.ndarray, norm: float):
    """The images flattened and rescaled to L2 norm ``norm`` (float32 tensor (n, N))."""
    import torch

    flat = torch.from_numpy(images.reshape(len(images), -1))
    return (flat / flat.norm(dim=1, keepdim=True) * norm).float()
