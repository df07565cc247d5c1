"""The dataset registry: built-in phantoms now, real-data loaders later.

A dataset entry is metadata only; its loader is imported when a cell runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bench.registry import Registry

Modality = Literal["cardiac", "mammo"]


@dataclass(frozen=True)
class DatasetSpec:
    """A dataset the tasks can read.

    Attributes:
        modality: ``cardiac`` (short-axis stacks + 14 attributes) or ``mammo`` (patches).
        builtin: True when it needs no ``--data-root`` (procedural phantoms).
        variants: the splits it provides (``public``, ``private``, ``external``).
    """

    name: str
    modality: Modality
    description: str
    builtin: bool
    variants: tuple[str, ...]


DATASETS: Registry[DatasetSpec] = Registry("dataset")

DATASETS.add(
    "phantom-cardiac",
    DatasetSpec(
        "phantom-cardiac",
        "cardiac",
        "procedural 3D short-axis cardiac stacks with LV/myocardium/RV masks and the 14 attributes",
        builtin=True,
        variants=("public", "private"),
    ),
)
DATASETS.add(
    "phantom-mammo",
    DatasetSpec(
        "phantom-mammo",
        "mammo",
        "procedural mammography mass patches, benign (round, circumscribed) vs malignant "
        "(irregular, spiculated)",
        builtin=True,
        variants=("public", "private", "external"),
    ),
)
