"""VinDr-Mammo (PhysioNet, credentialed): full-field digital mammograms, mass findings.

Layout: ``ROOT/finding_annotations.csv`` (``study_id``, ``image_id``,
``finding_categories`` such as ``['Mass']``, ``finding_birads`` such as ``BI-RADS 4``,
``xmin ymin xmax ymax`` in pixels, ``split`` ``training`` / ``test``) and the images at
``ROOT/images/<study_id>/<image_id>.dicom``. Every finding whose categories include
``Mass`` is one patch, cut around its box as CBIS-DDSM masses are (:mod:`.mammo_prep`).

There is no biopsy result, so the label follows a stated BI-RADS rule: BI-RADS 2 or 3
(benign, probably benign: < 2 % malignancy) -> 0; BI-RADS 4 or 5 (suspicious, highly
suggestive) -> 1 = malignant. Study B's code applies nearly the same rule to INbreast
(up to 4a benign, 4b and above malignant); VinDr does not split category 4, so all of
it counts as malignant. A mass with another or no BI-RADS value is reported and
skipped. The subject is the study (VinDr has one study per patient).
"""

from __future__ import annotations

import re
from pathlib import Path

from bench.datasets.real import mammo_prep
from bench.datasets.real.base import (
    Index,
    Item,
    MammoSample,
    ReadError,
    read_table,
    require_columns,
    to_float,
)
from bench.datasets.real.io import read_dicom
from bench.datasets.types import Problem

CSV = "finding_annotations.csv"
SPLITS = {"train": "training", "test": "test"}
BIRADS_TO_MALIGNANT = {2: 0, 3: 0, 4: 1, 5: 1}
COLUMNS = (
    "study_id",
    "image_id",
    "finding_categories",
    "finding_birads",
    "xmin",
    "ymin",
    "xmax",
    "ymax",
    "split",
)


def malignancy(birads: str) -> int | None:
    """The label of a finding's BI-RADS category under the rule of the module doc.

    >>> malignancy("BI-RADS 4"), malignancy("BI-RADS 3"), malignancy("")
    (1, 0, None)
    """
    match = re.search(r"(\d)", birads)
    return BIRADS_TO_MALIGNANT.get(int(match[1])) if match else None


class VindrLoader:
    """Index and read the VinDr-Mammo layout (see the module doc)."""

    modality = "mammo"
    preprocessing = mammo_prep.PREPROCESSING

    def index(self, root: Path, split: str) -> Index:
        index = Index()
        path = root / CSV
        if not index.missing(path, "VinDr-Mammo finding_annotations.csv"):
            return index
        index.metadata.append(path)
        try:
            table = read_table(path)
            require_columns(table, path, COLUMNS)
        except ReadError as exc:
            index.problems.append(exc.problem())
            return index
        for number, row in enumerate(table.to_dict("records"), start=2):
            wanted = split == "all" or row["split"].strip() == SPLITS[split]
            if wanted and "mass" in row["finding_categories"].lower():
                self._add_row(index, root, f"{path} line {number}", row)
        return index

    def _add_row(self, index: Index, root: Path, where: str, row) -> None:
        label = malignancy(row["finding_birads"])
        if label is None:
            rule = "no label under the rule (2-3 benign, 4-5 malignant)"
            index.problems.append(Problem(where, f"finding_birads has {rule}"))
            return
        box = [to_float(row[k]) for k in ("ymin", "xmin", "ymax", "xmax")]
        if any(v is None for v in box) or box[2] <= box[0] or box[3] <= box[1]:
            index.problems.append(Problem(where, "expected a box xmin < xmax, ymin < ymax"))
            return
        study, image = row["study_id"].strip(), row["image_id"].strip()
        candidates = [root / "images" / study / f"{image}{ext}" for ext in (".dicom", ".dcm")]
        found = next((c for c in candidates if c.is_file()), None)
        if found is None:
            index.problems.append(Problem(where, f"missing: {candidates[0]}"))
            return
        meta = {"box": tuple(round(v) for v in box), "label": label}
        key = f"{where.rsplit(' ', 1)[-1]}:{image}"
        index.items.append(Item(key, study, (found,), meta))

    def read(self, item: Item, shape, problems: list[Problem], deep: bool = False) -> list:
        image = read_dicom(item.files[0])[1]
        r0, c0, r1, c1 = item.meta["box"]
        if r1 > image.shape[0] or c1 > image.shape[1]:
            raise ReadError(
                item.files[0], f"box {item.meta['box']} outside the image {image.shape}"
            )
        patch = mammo_prep.mass_patch(image, (r0, c0, r1, c1), shape)
        return [MammoSample(patch, item.meta["label"], item.subject)]


LOADER = VindrLoader()
