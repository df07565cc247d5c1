"""What a ``mammo-cls`` method sees and what it returns: the task's public method API.

A method receives a :class:`MammoView` and returns a :class:`MammoArtifact`:

- ``view.public``: the public split (:class:`Split`: patches and malignancy labels), free
  to use for pre-training, a GAN, model selection;
- ``view.train``: the private training split behind the cell's ledger, records
  ``(images float32 (n, H, W) in [0, 1], labels int64)``, 1 = malignant; train on it only
  through ``ledger.train`` (after fixed per-record maps, ``PrivateData.map``);
- ``view.image_size``, ``view.public_name`` and ``view.train_digest`` (the content hash
  the record's dataset block states anyway, for cache keys).

The internal test split and the external site are never in the view: the task asks the
artifact's classifier for P(malignant) of every test patch and scores the answers.

Example:
    >>> import numpy as np
    >>> split = Split(np.zeros((2, 4, 4), np.float32), np.array([0, 1]))
    >>> len(split), split.digest() == Split(split.images, split.labels).digest()
    (2, True)
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

if TYPE_CHECKING:
    from bench.privacy.ledger import PrivateData

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
class MammoView:
    """Everything a ``mammo-cls`` method may see (no test data, no test labels)."""

    public: Split
    train: PrivateData
    image_size: int
    public_name: str
    train_digest: str


@runtime_checkable
class Classifier(Protocol):
    """Scores patches: ``scores(images (n, H, W) in [0, 1]) -> P(malignant) (n,)``."""

    def scores(self, images: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True)
class MammoArtifact:
    """What a ``mammo-cls`` method returns.

    Attributes:
        classifier: the trained classifier; the task scores the test patches with it.
        synthetic: the synthetic set the method trained with, if any (the task reports
            its FID to the test and public patches).
        info: free-form facts about the method's run (GAN key, selected epoch...),
            strict-JSON values; the record states them under ``scoring.method``.
    """

    classifier: Classifier
    synthetic: Split | None = None
    info: dict[str, Any] = field(default_factory=dict)


#: The dataset of study B's published synthetic set (``batch_<b>_<i>_{benign,malignant}.png``).
PUBLISHED_SYNTHETIC = "mammo-synthetic-png"


def load_published_synthetic(root, image_size: int) -> tuple[Split, str]:
    """Study B's published synthetic patches under ``root`` at the task's patch size, and
    the folder's content hash (for the record and the method's cache key).

    The set was made by a GAN trained *without* DP on the training patients: a method
    that trains on it must record that access in the ledger as one that voids epsilon.
    """
    from bench.datasets.loading import describe, load

    data = load(PUBLISHED_SYNTHETIC, root=root, shape=image_size)
    return Split(data.images, data.labels), describe(PUBLISHED_SYNTHETIC, root)["root_content_hash"]
