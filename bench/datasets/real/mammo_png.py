"""A folder of labelled PNG mass patches in study B's layout (mammo_dp's dataset16062024).

Layout: ``ROOT/[<source>/]<split>/is_benign_{true,false}/<name>_is_benign_{1,0}.png``
with ``<name>`` like ``patientcbis-ddsm__P_00016_image2450..._mass3457``, splits
``train``, ``val`` and ``test``. The label is read from the file name as the seed does
(``is_benign_1`` = benign, ``is_benign_0`` = malignant; here 1 = malignant); a name
without it, with another class, or disagreeing with its ``is_benign_*`` folder is
reported and skipped. The patient is ``<source>:<patient id>`` from the name (patches
of one patient must stay in one split). Patches are resized to the task's size by
area averaging; intensities are the PNG's, divided by 255 (65535 for 16 bits).
"""

from __future__ import annotations

import re
from pathlib import Path

from bench.datasets.real import mammo_prep
from bench.datasets.real.base import Index, Item, MammoSample
from bench.datasets.real.io import read_png
from bench.datasets.types import Problem

SPLITS = {"train": ("train", "training"), "val": ("val", "validation"), "test": ("test", "testing")}
_LABEL = re.compile(r"is_benign_(\w+?)(?:\.png)?$")
_PATIENT = re.compile(r"^patient(?P<source>.+?)__(?P<patient>.+?)_image")
_FOLDER = {"is_benign_true": 0, "is_benign_false": 1}


def label_of(path: Path) -> tuple[int | None, str]:
    """(1 = malignant, 0 = benign) from a file name, or (None, why not).

    >>> label_of(Path("train/is_benign_false/patientx__P_1_image2_mass3_is_benign_0.png"))
    (1, '')
    >>> label_of(Path("train/is_benign_true/p_is_benign_2.png"))[1]
    "unknown class 'is_benign_2'; expected is_benign_0 (malignant) or is_benign_1 (benign)"
    """
    match = _LABEL.search(path.name)
    if match is None:
        return None, "file name carries no is_benign_0 / is_benign_1 label"
    if match[1] not in ("0", "1"):
        expected = "expected is_benign_0 (malignant) or is_benign_1 (benign)"
        return None, f"unknown class 'is_benign_{match[1]}'; {expected}"
    label = 1 - int(match[1])
    folder = _FOLDER.get(path.parent.name)
    if folder is not None and folder != label:
        return None, f"label in the name disagrees with the folder {path.parent.name}"
    return label, ""


def subject_of(path: Path) -> str:
    """``<source>:<patient>`` from a seed-style name, else the file stem.

    >>> subject_of(Path("patientcbis-ddsm__P_00016_image245_mass3457_is_benign_0.png"))
    'cbis-ddsm:P_00016'
    """
    match = _PATIENT.match(path.name)
    return f"{match['source']}:{match['patient']}" if match else path.stem


def split_of(path: Path, root: Path) -> str | None:
    """The split a patch belongs to, from the first split-named folder under ROOT."""
    for part in path.relative_to(root).parts[:-1]:
        for split, names in SPLITS.items():
            if part.lower() in names:
                return split
    return None


class MammoPngLoader:
    """Index and read the PNG patch layout (see the module doc)."""

    modality = "mammo"
    preprocessing = mammo_prep.PREPROCESSING

    def index(self, root: Path, split: str) -> Index:
        index = Index()
        for path in sorted(root.rglob("*.png")):
            if split != "all" and split_of(path, root) != split:
                continue
            label, why = label_of(path)
            if label is None:
                index.problems.append(Problem(str(path), why + " (patch skipped)"))
                continue
            key = str(path.relative_to(root))
            index.items.append(Item(key, subject_of(path), (path,), {"label": label}))
        if not index.items and not index.problems:
            index.problems.append(Problem(str(root), f"missing: PNG patches of split {split!r}"))
        return index

    def read(self, item: Item, shape, problems: list[Problem], deep: bool = False) -> list:
        image = read_png(item.files[0])
        patch = mammo_prep.resize_square(image, shape)
        return [MammoSample(patch, item.meta["label"], item.subject)]


LOADER = MammoPngLoader()
