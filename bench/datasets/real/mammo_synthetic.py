"""Study B's published synthetic mass patches: ``batch_<b>_<i>_{benign,malignant}.png``.

Layout (mammo_dp's ``extension/synthetic_data/cbis-ddsm/c-dcgan``): one flat folder of
PNGs named ``batch_<b>_<i>_<class>.png``, ``<class>`` ``benign`` (label 0) or
``malignant`` (label 1). Subfolders are searched too; a name in another form is reported
and skipped. Patches are read and resized as the ``mammo-png`` patches are.

These images are *not* public data: study B's GAN was trained without differential
privacy on the CBIS-DDSM training patients, so the set carries those patients' data
without any guarantee. ``mammo-cls`` refuses it as public data and uses it only as
``gan_source=published``, whose records claim no finite epsilon.
"""

from __future__ import annotations

import re
from pathlib import Path

from bench.datasets.real.base import Index, Item
from bench.datasets.real.mammo_png import MammoPngLoader
from bench.datasets.types import Problem

_NAME = re.compile(r"^batch_(?P<batch>\d+)_(?P<index>\d+)_(?P<kind>benign|malignant)\.png$")
LABELS = {"benign": 0, "malignant": 1}


def label_of(path: Path) -> int | None:
    """1 = malignant, 0 = benign from a ``batch_<b>_<i>_<class>.png`` name, else None.

    >>> label_of(Path("batch_3_17_benign.png")), label_of(Path("batch_3_0_malignant.png"))
    (0, 1)
    >>> label_of(Path("batch_3_0.png")) is None
    True
    """
    match = _NAME.match(path.name)
    return LABELS[match["kind"]] if match else None


class MammoSyntheticLoader(MammoPngLoader):
    """Index the flat ``batch_*`` layout (see the module doc); patches are read as
    ``mammo-png``'s."""

    def index(self, root: Path, split: str) -> Index:
        index = Index()
        for path in sorted(root.rglob("*.png")):
            label = label_of(path)
            if label is None:
                why = "name is not batch_<b>_<i>_{benign,malignant}.png (patch skipped)"
                index.problems.append(Problem(str(path), why))
                continue
            key = str(path.relative_to(root))
            # Each synthetic patch is its own "subject": it belongs to no patient.
            index.items.append(Item(key, f"synthetic:{path.stem}", (path,), {"label": label}))
        if not index.items and not index.problems:
            index.problems.append(Problem(str(root), "missing: batch_<b>_<i>_<class>.png patches"))
        return index


LOADER = MammoSyntheticLoader()
