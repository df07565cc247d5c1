"""What every dataset loader returns, phantom or real: one structure per modality.

``CardiacSet`` and ``MammoSet`` mirror the phantoms' ``CardiacPhantoms`` and
``MammoPhantoms`` field for field (images, masks or labels, attributes, variant,
spacing), so code written against the phantoms reads real data unchanged, and add
what real data need: the subject of each sample, whether it has a segmentation, and
the provenance (dataset, root, content hash, problems met while loading).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from bench.datasets.phantoms.cardiac import ATTRIBUTES, LABELS

MISSING = -1.0  # the value of an attribute a dataset cannot provide (study A's convention)
__all__ = ["ATTRIBUTES", "LABELS", "MISSING", "CardiacSet", "MammoSet", "Problem", "Provenance"]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a local copy of a dataset: which file, and what was expected.

    Example:
        >>> str(Problem("/data/acdc/patient001/Info.cfg", "no 'ES:' line"))
        "/data/acdc/patient001/Info.cfg: no 'ES:' line"
    """

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"

    def to_dict(self) -> dict[str, str]:
        return {"path": self.path, "message": self.message}


@dataclass(frozen=True)
class Provenance:
    """Where a batch came from.

    Attributes:
        name: registered dataset name.
        variant: phantom variant (``private``, ...) or real split (``all``, ``train``, ...).
        root: the ``--data-root`` folder, or ``None`` for built-in phantoms.
        root_hash: content hash of the files the loader read (see
            :func:`bench.datasets.cache.fingerprint`), ``None`` for phantoms.
        preprocessing: the preprocessing version; it is part of the cache key.
        problems: files skipped while loading, each with the reason.
        from_cache: True when the arrays came from the user cache.
    """

    name: str
    variant: str
    root: str | None = None
    root_hash: str | None = None
    preprocessing: str = ""
    problems: tuple[Problem, ...] = ()
    from_cache: bool = False


@dataclass(frozen=True)
class CardiacSet:
    """Short-axis stacks, ED and ES frames as separate samples.

    Attributes:
        images: float32 (n, D, H, W) in [0, 1].
        masks: uint8 (n, D, H, W), UK Biobank labels (1 LV, 2 myocardium, 3 RV); all
            zero where ``has_masks`` is False.
        attributes: float32 (n, 14) in ``ATTRIBUTES`` order, raw units, -1 = missing.
        variant: as in :class:`Provenance`.
        spacing_mm: (median slice spacing, row, column) in mm.
        subjects: subject id of each sample.
        has_masks: bool (n,), True where the mask is a real segmentation.
        slice_mm: float32 (n,), slice spacing of each sample (real data vary).
        provenance: where the batch came from.
    """

    images: np.ndarray
    masks: np.ndarray
    attributes: np.ndarray
    variant: str
    spacing_mm: tuple[float, float, float]
    subjects: tuple[str, ...] = ()
    has_masks: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    slice_mm: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.float32))
    provenance: Provenance | None = None

    def __len__(self) -> int:
        return len(self.images)

    def column(self, name: str) -> np.ndarray:
        """One attribute for every sample, by name.

        Example:
            >>> data = CardiacSet(np.zeros((1, 4, 16, 16), np.float32), np.zeros((1, 4, 16, 16),
            ...     np.uint8), np.full((1, 14), -1, np.float32), "all", (10.0, 1.8, 1.8))
            >>> data.column("LVEF").tolist()
            [-1.0]
        """
        return self.attributes[:, ATTRIBUTES.index(name)]


@dataclass(frozen=True)
class MammoSet:
    """Mass patches with their malignancy label.

    Attributes:
        images: float32 (n, H, W) in [0, 1].
        labels: int64 (n,), 1 = malignant (the positive class), 0 = benign.
        variant: as in :class:`Provenance`.
        subjects: patient id of each patch (splits must be per patient).
        provenance: where the batch came from.
    """

    images: np.ndarray
    labels: np.ndarray
    variant: str
    subjects: tuple[str, ...] = ()
    provenance: Provenance | None = None

    def __len__(self) -> int:
        return len(self.images)
