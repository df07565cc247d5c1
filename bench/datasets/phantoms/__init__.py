"""Procedural phantom datasets: the suite's embedded, offline default data.

``make_cardiac`` renders short-axis cine MRI stacks with LV / myocardium / RV masks
from a 14-attribute vector; ``make_mammo`` renders benign and malignant mass patches.
Both are pure numpy + scipy and deterministic in (seed, variant, sample index).
See ``docs/phantoms.md``.
"""

from bench.datasets.phantoms.cardiac import (
    ATTRIBUTES,
    LABELS,
    VOXEL_MM,
    CardiacPhantoms,
    make_cardiac,
    mask_volumes_ml,
)
from bench.datasets.phantoms.mammo import MammoPhantoms, make_mammo

__all__ = [
    "ATTRIBUTES",
    "LABELS",
    "VOXEL_MM",
    "CardiacPhantoms",
    "MammoPhantoms",
    "make_cardiac",
    "make_mammo",
    "mask_volumes_ml",
]
