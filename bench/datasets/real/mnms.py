"""M&Ms (Multi-Centre, Multi-Vendor & Multi-Disease, MICCAI 2020): 4D NIfTI + an info CSV.

Layout: ``ROOT/{Training/Labeled,Validation,Testing}/<code>/<code>_sa.nii.gz`` (x, y,
slice, time) with ``<code>_sa_gt.nii.gz`` (segmented at ED and ES only), and the
information CSV (``External code``, ``ED``, ``ES``, optionally ``Age``, ``Sex``,
``Height``, ``Weight``) anywhere under ROOT. ED and ES are 0-based time indices (ACDC's
are 1-based). ``Training/Unlabeled`` subjects have no segmentation and are skipped
(counted in the notes, not as problems).

Labels are already UK Biobank's (1 LV, 2 myocardium, 3 RV). Attributes: volumes, EF,
wall thickness from the masks; AGE, SEX (M = 1) and BMI from the CSV when present.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bench.datasets.real import cardiac_prep, paths
from bench.datasets.real.acdc import bmi
from bench.datasets.real.base import (
    Index,
    Item,
    ReadError,
    read_all,
    read_table,
    require_columns,
    split_dirs,
    to_float,
)
from bench.datasets.real.io import labels_ok, read_nifti
from bench.datasets.types import Problem

SPLITS = {"train": ("Training/Labeled",), "val": ("Validation",), "test": ("Testing",)}
CODE = "External code"


def find_info_csv(root: Path, refused: list[Path] | None = None) -> Path | None:
    """The first CSV under ``root`` whose header names the subject code, ED and ES.

    CSVs that resolve outside ``--data-root`` are not opened; they go to ``refused``.
    """
    for path in sorted(root.rglob("*.csv")):
        if paths.outside(path) is not None:
            (refused if refused is not None else []).append(path)
            continue
        try:
            head = path.open(encoding="utf-8", errors="replace").readline()
        except OSError:
            continue
        if CODE in head and "ED" in head and "ES" in head:
            return path
    return None


def known_attributes(row) -> dict[str, float]:
    """AGE, SEX (M = 1, F = 0) and BMI from an info CSV row, where stated."""
    known = {}
    age = to_float(row.get("Age", ""))
    if age is not None:
        known["AGE"] = age
    sex = str(row.get("Sex", "")).strip().upper()
    if sex in ("M", "F"):
        known["SEX"] = 1.0 if sex == "M" else 0.0
    value = bmi(row.get("Height"), row.get("Weight"))
    if value is not None:
        known["BMI"] = value
    return known


class MnmsLoader:
    """Index and read the M&Ms layout (see the module doc)."""

    modality = "cardiac"
    preprocessing = cardiac_prep.PREPROCESSING

    def index(self, root: Path, split: str) -> Index:
        index = Index()
        refused: list[Path] = []
        info = find_info_csv(root, refused)
        if info is None:
            what = f"the information CSV ('{CODE}', 'ED', 'ES' columns)"
            for path in refused:
                index.problems.append(Problem(str(path), f"{what}? {paths.outside(path)}"))
            index.problems.append(Problem(str(root), f"missing: {what}"))
            return index
        index.metadata.append(info)
        try:
            table = read_table(info)
            require_columns(table, info, (CODE, "ED", "ES"))
        except ReadError as exc:
            index.problems.append(exc.problem())
            return index
        rows = {r[CODE].strip(): r for r in table.to_dict("records")}
        for folder in split_dirs(root, split, SPLITS):
            for subject in sorted(p for p in folder.iterdir() if p.is_dir()):
                self._add(index, subject, rows.get(subject.name), info)
        self._note_unlabeled(index, root, split)
        return index

    def _add(self, index: Index, folder: Path, row, info: Path) -> None:
        code = folder.name
        image, mask = folder / f"{code}_sa.nii.gz", folder / f"{code}_sa_gt.nii.gz"
        if row is None:
            index.problems.append(
                Problem(str(info), f"no row for subject {code} (ED/ES unknown; subject skipped)")
            )
            return
        ed, es = to_float(row["ED"]), to_float(row["ES"])
        if ed is None or es is None or ed < 0 or es < 0:
            message = f"row {code}: expected 0-based frame indices in its ED and ES columns"
            index.problems.append(Problem(str(info), message + " (subject skipped)"))
            return
        if index.missing(image, "cine image") & index.missing(mask, "segmentation"):
            meta = {"ed": int(ed), "es": int(es), "known": known_attributes(row), "info": info}
            index.items.append(Item(code, code, (image, mask), meta))

    def _note_unlabeled(self, index: Index, root: Path, split: str) -> None:
        unlabeled = root / "Training" / "Unlabeled"
        if split in ("all", "train") and unlabeled.is_dir():
            count = sum(1 for p in unlabeled.iterdir() if p.is_dir())
            index.notes.append(f"{count} unlabeled subject(s) in {unlabeled} not used")

    def read(self, item: Item, shape, problems: list[Problem], deep: bool = False) -> list:
        image_path, mask_path = item.files
        (image, zooms), (mask, _) = read_all(
            (read_nifti, image_path, 4, "x, y, slice, time"),
            (read_nifti, mask_path, 4, "x, y, slice, time"),
        )
        if mask.shape != image.shape:
            raise ReadError(mask_path, f"shape {mask.shape} differs from the image's {image.shape}")
        frames = image.shape[3]
        for phase in ("ed", "es"):
            if item.meta[phase] >= frames:
                message = f"{phase.upper()} index {item.meta[phase]} (0-based) for {item.key}"
                raise ReadError(item.meta["info"], f"{message} beyond its {frames} frames")
        mask = labels_ok(mask, mask_path)
        phases = [item.meta["ed"], item.meta["es"]]
        volumes = [image[..., t].transpose(2, 1, 0).astype(np.float32) for t in phases]
        labels = [mask[..., t].transpose(2, 1, 0) for t in phases]
        spacing = (zooms[2], zooms[1], zooms[0])
        subject = cardiac_prep.Frames(*volumes, spacing, *labels, item.meta["known"])
        return cardiac_prep.subject_samples(item.subject, subject, shape)


LOADER = MnmsLoader()
