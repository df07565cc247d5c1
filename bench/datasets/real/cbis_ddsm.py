"""CBIS-DDSM (Curated Breast Imaging Subset of DDSM, TCIA, CC BY 3.0): mass patches.

Layout: the four case-description CSVs in ROOT (``mass_case_description_{train,test}
_set.csv`` are read; the two ``calc_`` CSVs are not, the task is about masses) and the
DICOM files. A CSV path ``<folder>/<study UID>/<series UID>/<file>.dcm`` is looked up
under ROOT as written; the NBIA Data Retriever writes other folder names, so failing
that, the series UID is mapped through the retriever's ``metadata.csv`` (``Series
UID`` -> ``File Location``), in ROOT or ROOT/CBIS-DDSM.

The ROI mask and the cropped lesion may share a series and come in either order
(``000000.dcm`` / ``000001.dcm`` or ``1-1.dcm`` / ``1-2.dcm``): every file named by
the row's ROI-mask and cropped-image paths is read and the binary one is the mask.
The patch is cut around the mask's bounding box (:mod:`.mammo_prep`; a mask of another
size than its mammogram is scaled to it). Labels: MALIGNANT = 1; BENIGN and
BENIGN_WITHOUT_CALLBACK = 0; any other pathology is reported and the row skipped.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bench.datasets.real import mammo_prep
from bench.datasets.real.base import (
    Index,
    Item,
    MammoSample,
    ReadError,
    read_table,
    require_columns,
)
from bench.datasets.real.io import read_dicom
from bench.datasets.types import Problem

CSVS = {
    "train": "mass_case_description_train_set.csv",
    "test": "mass_case_description_test_set.csv",
}
PATHOLOGY = {"MALIGNANT": 1, "BENIGN": 0, "BENIGN_WITHOUT_CALLBACK": 0}
COLUMNS = (
    "patient_id",
    "left or right breast",
    "image view",
    "abnormality id",
    "pathology",
    "image file path",
    "cropped image file path",
    "ROI mask file path",
)


class Locator:
    """The DICOM files behind a CSV path, as written or through NBIA's metadata.csv."""

    def __init__(self, root: Path, index: Index) -> None:
        self.root = root
        self.series: dict[str, Path] = {}
        for meta in (root / "metadata.csv", root / "CBIS-DDSM" / "metadata.csv"):
            if meta.is_file() and index.missing(meta, "NBIA metadata.csv"):
                self._read_metadata(meta, index)

    def _read_metadata(self, meta: Path, index: Index) -> None:
        try:
            table = read_table(meta)
            require_columns(table, meta, ("Series UID", "File Location"))
        except ReadError as exc:
            index.problems.append(exc.problem())
            return
        index.metadata.append(meta)
        for uid, location in zip(table["Series UID"], table["File Location"], strict=True):
            self.series[uid.strip()] = meta.parent / location.strip().replace("\\", "/")

    def files(self, csv_path: str) -> list[Path]:
        relative = csv_path.strip().replace("\\", "/")
        direct = self.root / relative
        if relative and direct.is_file():
            return [direct]
        parts = relative.split("/")
        folder = self.series.get(parts[-2]) if len(parts) >= 2 else None
        return sorted(folder.glob("*.dcm")) if folder is not None and folder.is_dir() else []


class CbisDdsmLoader:
    """Index and read the CBIS-DDSM layout (see the module doc)."""

    modality = "mammo"
    preprocessing = mammo_prep.PREPROCESSING

    def index(self, root: Path, split: str) -> Index:
        index = Index()
        locator = Locator(root, index)
        for name in (n for s, n in CSVS.items() if split in ("all", s)):
            path = root / name
            if not index.missing(path, "mass case-description CSV"):
                continue
            index.metadata.append(path)
            try:
                table = read_table(path)
                require_columns(table, path, COLUMNS)
            except ReadError as exc:
                index.problems.append(exc.problem())
                continue
            for number, row in enumerate(table.to_dict("records"), start=2):
                self._add_row(index, locator, path, number, row)
        if any((root / f"calc_case_description_{s}_set.csv").is_file() for s in ("train", "test")):
            index.notes.append("calcification CSVs present, not used (mass patches only)")
        return index

    def _add_row(self, index: Index, locator: Locator, csv: Path, number: int, row) -> None:
        ident = " ".join(row[c].strip() for c in COLUMNS[:4])
        where = f"{csv} line {number} ({ident})"
        label = PATHOLOGY.get(row["pathology"].strip().upper())
        if label is None:
            message = f"unknown pathology; expected one of {list(PATHOLOGY)}"
            index.problems.append(Problem(where, message))
            return
        image = locator.files(row["image file path"])
        rois = [*locator.files(row["ROI mask file path"])]
        rois += locator.files(row["cropped image file path"])
        for files, column in ((image, "image file path"), (rois, "ROI mask file path")):
            if not files:
                wanted = f"{column} {row[column].strip()!r} under ROOT or via metadata.csv"
                index.problems.append(Problem(where, f"missing: {wanted}"))
        if image and rois:
            meta = {"image": image, "rois": sorted(set(rois)), "label": label}
            key = f"{csv.stem}:{ident}"
            index.items.append(Item(key, row["patient_id"].strip(), (*image, *rois), meta))

    def read(self, item: Item, shape, problems: list[Problem], deep: bool = False) -> list:
        paths = item.meta["image"]
        path = max(paths, key=lambda p: p.stat().st_size)  # one file; several: the full view
        image = read_dicom(path)[1]
        mask = self._mask(item.meta["rois"], problems, deep)
        box = mammo_prep.mask_box(mask)
        if box is None:
            raise ReadError(item.meta["rois"][0], "the ROI mask is empty")
        if mask.shape != image.shape:
            scale = np.array(image.shape * 2, float) / np.array(mask.shape * 2, float)
            box = tuple(round(float(v)) for v in np.array(box) * scale)
        patch = mammo_prep.mass_patch(image, box, shape)
        return [MammoSample(patch, item.meta["label"], item.subject)]

    def _mask(self, paths: list[Path], problems: list[Problem], deep: bool) -> np.ndarray:
        """The binary image among the ROI-mask and crop files (either order)."""
        found = None
        for path in paths:
            try:
                array = read_dicom(path)[1]
            except ReadError as exc:
                problems.append(exc.problem())
                continue
            if found is None and is_binary(array):
                found = array
                if not deep:
                    break
        if found is None:
            raise ReadError(paths[0].parent, f"no binary ROI mask among {[p.name for p in paths]}")
        return found


def is_binary(array: np.ndarray) -> bool:
    """True for an image of at most two values, both present (a mask, not a photo).

    >>> is_binary(np.array([[0, 255], [255, 0]])), is_binary(np.array([[0, 3], [7, 0]]))
    (True, False)
    """
    low, high = array.min(), array.max()
    return bool(high > low and not np.any((array != low) & (array != high)))


LOADER = CbisDdsmLoader()
