"""ACDC (Automated Cardiac Diagnosis Challenge, MICCAI 2017): NIfTI frames + Info.cfg.

Layout: ``ROOT[/database]/{training,testing}/patientNNN/`` with ``Info.cfg`` (``ED: 1``,
``ES: 12``, ``Group: DCM``, ``Height: 184.0`` cm, ``Weight: 95.0`` kg, ``NbFrame: 30``) and
``patientNNN_frameFF.nii.gz`` / ``patientNNN_frameFF_gt.nii.gz`` for FF = the ED and ES
frame numbers, which are 1-based. The 4D ``_4d.nii.gz`` cine is not needed.

Labels: ACDC's 1 = RV, 2 = myocardium, 3 = LV are remapped to UK Biobank's 1 = LV,
2 = myocardium, 3 = RV. Attributes: volumes, EF and wall thickness from the masks
(:func:`~bench.datasets.real.cardiac_prep.derive_attributes`), BMI = weight / height^2
from Info.cfg; AGE, SEX and ANGLE are not given (-1).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bench.datasets.real import cardiac_prep
from bench.datasets.real.base import Index, Item, ReadError, read_all, split_dirs, to_float
from bench.datasets.real.io import labels_ok, read_nifti
from bench.datasets.types import Problem

SPLITS = {"train": ("training",), "test": ("testing",)}
ACDC_TO_UKBB = np.array([0, 3, 2, 1], dtype=np.uint8)  # index: ACDC label, value: UKBB label


def read_info(path: Path) -> dict[str, str]:
    """``Key: value`` lines of an Info.cfg; ED and ES must be positive integers."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise ReadError(path, f"unreadable ({exc.strerror})") from None
    info = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            info[key.strip()] = value.strip()
    for key in ("ED", "ES"):
        if not info.get(key, "").isdigit() or int(info[key]) < 1:
            raise ReadError(path, f"expected a line '{key}: <1-based frame number>'")
    return info


def bmi(height: str | None, weight: str | None) -> float | None:
    """kg / m^2 from a height in cm (or m) and a weight in kg; ``None`` when unknown.

    >>> round(bmi("184.0", "95.0"), 2), bmi("", "95")
    (28.06, None)
    """
    h, w = to_float(height or ""), to_float(weight or "")
    if h is None or w is None or h <= 0 or w <= 0:
        return None
    metres = h / 100.0 if h > 3 else h
    return w / metres**2


class AcdcLoader:
    """Index and read the ACDC layout (see the module doc)."""

    modality = "cardiac"
    preprocessing = cardiac_prep.PREPROCESSING

    def index(self, root: Path, split: str) -> Index:
        index = Index()
        base = root / "database" if (root / "database").is_dir() else root
        folders = split_dirs(base, split, SPLITS)
        if not folders:
            wanted = ", ".join(f"{base}/{n}" for s in SPLITS.values() for n in s)
            index.problems.append(Problem(str(base), f"missing: split folder(s) {wanted}"))
        for folder in folders:
            for patient in sorted(p for p in folder.iterdir() if p.is_dir()):
                self._add(index, patient)
        return index

    def _add(self, index: Index, patient: Path) -> None:
        info_path = patient / "Info.cfg"
        if not index.missing(info_path, "Info.cfg with the ED and ES frame numbers"):
            return
        index.metadata.append(info_path)
        try:
            info = read_info(info_path)
        except ReadError as exc:
            index.problems.append(exc.problem(patient.name))
            return
        files = {}
        for phase in ("ED", "ES"):
            stem = f"{patient.name}_frame{int(info[phase]):02d}"
            files[phase] = (patient / f"{stem}.nii.gz", patient / f"{stem}_gt.nii.gz")
        flat = tuple(f for pair in files.values() for f in pair)
        if all([index.missing(f, f"{patient.name} frame") for f in flat]):
            meta = {"files": files, "bmi": bmi(info.get("Height"), info.get("Weight"))}
            index.items.append(Item(patient.name, patient.name, flat, meta))
        else:
            index.problems.append(Problem(str(patient), "frame files missing (subject skipped)"))

    def read(self, item: Item, shape, problems: list[Problem], deep: bool = False) -> list:
        frames, masks, spacing = [], [], None
        calls = [
            (read_nifti, f, 3, "x, y, slice") for p in ("ED", "ES") for f in item.meta["files"][p]
        ]
        volumes = iter(read_all(*calls))  # every bad file is named, not only the first
        for phase in ("ED", "ES"):
            mask_path = item.meta["files"][phase][1]
            (image, zooms), (mask, _) = next(volumes), next(volumes)
            if mask.shape != image.shape:
                raise ReadError(
                    mask_path, f"shape {mask.shape} differs from the image's {image.shape}"
                )
            frames.append(image.transpose(2, 1, 0).astype(np.float32))
            masks.append(ACDC_TO_UKBB[labels_ok(mask, mask_path).transpose(2, 1, 0)])
            spacing = spacing or (zooms[2], zooms[1], zooms[0])
        if frames[0].shape != frames[1].shape:
            raise ReadError(item.meta["files"]["ES"][0], "ES frame shape differs from ED's")
        known = {"BMI": item.meta["bmi"]} if item.meta["bmi"] is not None else {}
        subject = cardiac_prep.Frames(frames[0], frames[1], spacing, masks[0], masks[1], known)
        return cardiac_prep.subject_samples(item.subject, subject, shape)


LOADER = AcdcLoader()
