"""Data of ``mammo-cls``: the private, test, external and public splits, and their identity.

On the built-in phantoms the private site provides the training split and the internal
test split (disjoint sample indices of one ``private`` data set, like per-patient splits:
each phantom is its own patient), the ``external`` variant a shifted test site (BCDR's
role) and the ``public`` variant the public data. The data set is fixed by
``data_seed``: every seed, epsilon and method sees the same patches, as in the paper.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass

import numpy as np

from bench.errors import DatasetError

POSITIVE_CLASS = "malignant (label 1)"


@dataclass(frozen=True)
class Split:
    """Patches (n, H, W) float32 in [0, 1] and labels int64 (1 = malignant)."""

    images: np.ndarray
    labels: np.ndarray

    def digest(self) -> str:
        """A short content hash of images and labels."""
        h = hashlib.sha256(np.ascontiguousarray(self.images).tobytes())
        h.update(np.ascontiguousarray(self.labels).tobytes())
        return h.hexdigest()[:16]

    def __len__(self) -> int:
        return len(self.labels)


@dataclass(frozen=True)
class MammoData:
    """The four splits of one data set."""

    name: str
    train: Split
    test: Split
    external: Split
    public: Split
    seed: int

    def identity(self) -> dict:
        """The record's ``dataset`` block: sizes, content hashes, positive class."""
        splits = {"train": self.train, "test": self.test, "external": self.external}
        return {
            "name": self.name,
            "variant": "private (train, test), external (test), public (pre-training, GAN)",
            "positive_class": POSITIVE_CLASS,
            "image_size": int(self.train.images.shape[-1]),
            "seed": self.seed,
            "samples": {k: len(v) for k, v in {**splits, "public": self.public}.items()},
            "malignant": {k: int(v.labels.sum()) for k, v in splits.items()},
            "content_hash": {k: v.digest() for k, v in {**splits, "public": self.public}.items()},
        }


@functools.lru_cache(maxsize=8)
def _phantoms(variant: str, n: int, size: int, seed: int) -> Split:
    """Generated once per process: the local launcher runs a grid's cells in one process."""
    from bench.datasets.phantoms.mammo import make_mammo

    data = make_mammo(n, variant, size=size, seed=seed)
    data.images.flags.writeable = False
    return Split(data.images, data.labels)


def load_data(dataset: str, config) -> MammoData:
    """The splits of ``dataset`` at the sizes of ``config`` (a ``ClassifierConfig``)."""
    if dataset != "phantom-mammo":
        raise DatasetError(f"mammo-cls has no loader for dataset {dataset!r} yet")
    size, seed = config.image_size, config.data_seed
    private = _phantoms("private", config.n_train + config.n_test, size, seed)
    cut = config.n_train
    return MammoData(
        name=dataset,
        train=Split(private.images[:cut], private.labels[:cut]),
        test=Split(private.images[cut:], private.labels[cut:]),
        external=_phantoms("external", config.n_external, size, seed),
        public=_phantoms("public", config.n_public, size, seed),
        seed=seed,
    )
