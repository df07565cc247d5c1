"""``bench data check``: read every file of a local copy and report every problem.

A long run should not discover on day two that a subject's DICOM is truncated: the
check decodes every file of every item (also those a run would not need), counts
subjects, samples and labels, and lists each unusable file with its path and what was
expected. Nothing is cached.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from bench.datasets import DATASETS, require_root
from bench.datasets.cache import fingerprint
from bench.datasets.loading import (
    following,
    index_files,
    index_of,
    loader_of,
    normalise_shape,
    read_items,
)
from bench.datasets.types import Problem
from bench.errors import DatasetError


@dataclass(frozen=True)
class CheckReport:
    """What ``bench data check`` reports about a local copy."""

    dataset: str
    root: str
    variant: str
    subjects: int
    samples: int
    labels: dict[str, int]
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    content_hash: str = ""

    @property
    def usable(self) -> bool:
        return self.samples > 0

    def to_dict(self) -> dict:
        return {
            "dataset": self.dataset,
            "root": self.root,
            "variant": self.variant,
            "subjects": self.subjects,
            "samples": self.samples,
            "labels": self.labels,
            "problems": [p.to_dict() for p in self.problems],
            "notes": self.notes,
            "content_hash": self.content_hash,
            "usable": self.usable,
        }


def check(
    name: str,
    root: Path | str | None,
    variant: str = "all",
    shape=None,
    follow_links: bool | None = None,
) -> CheckReport:
    """Read every file of a local copy and report counts and every problem.

    Nothing is cached; every file is decoded, also those a run would not need, and every
    sample is checked as a run checks it. Files that resolve outside ``root`` are not
    opened unless ``follow_links`` (default: whether ``--follow-links`` was given).
    """
    spec = DATASETS.get(name)
    if spec.builtin:
        raise DatasetError(f"{name} is built in (generated from a seed): nothing to check")
    require_root(name, Path(root) if root is not None else None)
    root = Path(root)
    if variant not in spec.variants:
        raise DatasetError(
            f"dataset {name!r} has no split {variant!r} (has: {', '.join(spec.variants)})"
        )
    loader = loader_of(spec)
    index = index_of(spec, root, variant, following(follow_links))
    shape = normalise_shape(spec.modality, shape)
    samples, problems = read_items(loader, index, shape, deep=True)
    return CheckReport(
        dataset=name,
        root=str(root),
        variant=variant,
        subjects=len({s.subject for s in samples}),
        samples=len(samples),
        labels=label_counts(spec.modality, samples),
        problems=problems,
        notes=list(index.notes),
        content_hash=fingerprint(root, index_files(index)),
    )


def label_counts(modality: str, samples: list) -> dict[str, int]:
    """Benign/malignant patches, or ED/ES frames and segmented frames."""
    if modality == "mammo":
        malignant = sum(int(s.label) for s in samples)
        return {"benign": len(samples) - malignant, "malignant": malignant}
    from bench.datasets.types import ATTRIBUTES

    ed = sum(int(s.attributes[ATTRIBUTES.index("ESED")] == 1) for s in samples)
    segmented = sum(int(s.has_mask) for s in samples)
    return {"ED": ed, "ES": len(samples) - ed, "segmented": segmented}
