"""Sunnybrook Cardiac Data: cine short-axis DICOM with expert LV contours (CC0 1.0).

Layout (that of ``../shared/data/sunnybrook-subset``): ``link.csv`` maps
``patient_id`` to ``original_id``; images are ``dicoms/<patient_id>/<n>.dcm``; contours
are ``contourfiles/<original_id>/{i,o}-contours/IM-0001-<nnnn>-{i,o}contour-manual.txt``
with ``<nnnn>`` the image number ``n``, one ``x y`` pixel pair per line.

Ordering: file numbers are not a reliable order. Images are grouped by their position
along the slice normal (ImagePositionPatient projected on the normal of
ImageOrientationPatient) and each group is sorted by TriggerTime, then InstanceNumber.
The slice spacing is the median distance between those positions (SliceLocation can
disagree with it: it is 6.7 mm apart in the subset for a true 10 mm).

ED and ES: a contoured slice has two endocardial contours, the larger one at ED. A
slice's ED (ES) frame is the image of its ED (ES) contour; slices without contours
use the subject's most common ED (ES) phase.

Masks and attributes: endocardial contour -> LV (1), epicardial minus endocardial ->
myocardium (2), rasterised at native resolution (pixel centres inside the polygon).
LVEDV, LVESV, LVEF and the wall thicknesses come from those masks (see
:func:`~bench.datasets.real.cardiac_prep.derive_attributes`); epicardial contours
exist mostly at ED, so MYOESTHICK is usually missing; the RV is not contoured (RV
attributes missing, DEPTH counts the contoured LV slices). AGE, SEX and BMI come from
the DICOM header when present (empty in the subset).
"""

from __future__ import annotations

import re
import warnings
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.datasets.real import cardiac_prep
from bench.datasets.real.base import (
    Index,
    Item,
    ReadError,
    raise_all,
    read_table,
    reason,
    require_columns,
)
from bench.datasets.real.io import header, read_dicom
from bench.datasets.real.polygons import polygon_area, polygon_mask
from bench.datasets.types import Problem

_CONTOUR = re.compile(r"IM-\d+-(\d+)-([io])contour-manual\.txt$")


@dataclass(frozen=True)
class Cine:
    """A cine series: image numbers per slice location (ascending) in temporal order."""

    positions: tuple[float, ...]
    frames: tuple[tuple[int, ...], ...]
    files: dict[int, Path]
    spacing: tuple[float, float, float]

    def where(self, number: int) -> tuple[int, int] | None:
        """(location, phase) of image ``number``, or ``None``."""
        for loc, numbers in enumerate(self.frames):
            if number in numbers:
                return loc, numbers.index(number)
        return None


def scan_cine(files: list[Path], problems: list[Problem], pixels: bool = False) -> Cine:
    """Group and order a subject's DICOM files; unreadable ones go to ``problems``.

    With ``pixels`` every image is decoded, so that truncated pixel data are found too.
    """
    records = []
    for path in files:
        try:
            records.append(_record(path, *read_dicom(path, pixels=pixels)))
        except ReadError as exc:
            problems.append(exc.problem())
    if not records:
        raise ReadError(files[0].parent if files else "dicoms", "no readable DICOM image")
    records.sort(key=lambda r: r["position"])
    groups: list[list[dict]] = [[records[0]]]
    for record in records[1:]:
        if record["position"] - groups[-1][-1]["position"] > 0.5:
            groups.append([])
        groups[-1].append(record)
    _check_phases(groups, problems)
    positions = [float(np.mean([r["position"] for r in g])) for g in groups]
    order = [tuple(r["number"] for r in sorted(g, key=lambda r: r["time"])) for g in groups]
    dz = float(np.median(np.diff(positions))) if len(groups) > 1 else records[0]["thickness"]
    spacing = (dz, *records[0]["pixel"])
    return Cine(tuple(positions), tuple(order), {r["number"]: r["path"] for r in records}, spacing)


def _record(path: Path, dataset, _image) -> dict:
    orientation = header(dataset, "ImageOrientationPatient", path, lambda v: np.array(v, float))
    origin = header(dataset, "ImagePositionPatient", path, lambda v: np.array(v, float))
    instance = header(dataset, "InstanceNumber", path, int)
    return {
        "path": path,
        "number": int(path.stem) if path.stem.isdigit() else instance,
        "position": float(origin @ np.cross(orientation[:3], orientation[3:])),
        "time": (float(getattr(dataset, "TriggerTime", 0) or 0), instance),
        "pixel": tuple(header(dataset, "PixelSpacing", path, lambda v: [float(x) for x in v])),
        "thickness": float(getattr(dataset, "SliceThickness", 10) or 10),
    }


def _check_phases(groups: list[list[dict]], problems: list[Problem]) -> None:
    expected = Counter(len(g) for g in groups).most_common(1)[0][0]
    for group in groups:
        if len(group) != expected:
            folder = group[0]["path"].parent
            where = f"{group[0]['position']:.1f} mm"
            problems.append(
                Problem(
                    str(folder), f"slice at {where} has {len(group)} phases, the others {expected}"
                )
            )


def _demographics(dataset) -> dict[str, float]:
    known = {}
    age = str(getattr(dataset, "PatientAge", "") or "")
    if age[:3].isdigit() and age.endswith("Y"):
        known["AGE"] = float(age[:3])
    sex = str(getattr(dataset, "PatientSex", "") or "").upper()
    if sex in ("M", "F"):
        known["SEX"] = 1.0 if sex == "M" else 0.0
    weight, size = getattr(dataset, "PatientWeight", None), getattr(dataset, "PatientSize", None)
    if weight and size:
        known["BMI"] = float(weight) / float(size) ** 2
    return known


def read_contours(paths: list[Path], cine: Cine) -> dict[tuple[int, int], dict[str, np.ndarray]]:
    """Contour points per (location, phase) and kind (``i`` / ``o``).

    Raises:
        ReadError: naming every bad contour file of the subject, not only the first.
    """
    found: dict[tuple[int, int], dict[str, np.ndarray]] = {}
    errors = []
    for path in paths:
        try:
            where, kind, points = _contour(path, cine)
        except ReadError as exc:
            errors.append(exc)
            continue
        found.setdefault(where, {})[kind] = points
    raise_all(errors)
    return found


def _contour(path: Path, cine: Cine) -> tuple[tuple[int, int], str, np.ndarray]:
    match = _CONTOUR.search(path.name)
    where = cine.where(int(match[1])) if match else None
    if where is None:
        raise ReadError(path, "refers to no DICOM image of this subject")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # an empty file: reported below, not warned
            points = np.loadtxt(path, ndmin=2)
    except Exception as exc:  # ValueError of a bad number, OSError, UnicodeDecodeError
        raise ReadError(
            path, f"expected lines of 'x y' pixel coordinates ({reason(exc)})"
        ) from None
    if points.shape[0] < 3 or points.shape[1] != 2:
        raise ReadError(path, f"expected at least 3 'x y' points, got shape {points.shape}")
    if not np.isfinite(points).all():
        raise ReadError(path, "expected finite 'x y' pixel coordinates, got NaN or inf")
    return where, match[2], points


def pick_phases(contours, n_locations: int, problems, folder) -> tuple[list[int], list[int]]:
    """The ED and ES phase of every slice location (see the module doc)."""
    by_loc: dict[int, dict[int, float]] = {}
    for (loc, phase), kinds in contours.items():
        if "i" in kinds:
            by_loc.setdefault(loc, {})[phase] = polygon_area(kinds["i"])
    pairs = {loc: areas for loc, areas in by_loc.items() if len(areas) >= 2}
    if not pairs:
        raise ReadError(folder, "no slice has two endocardial contours: ED and ES are unknown")
    ed = {loc: max(a, key=a.get) for loc, a in pairs.items()}
    es = {loc: min(a, key=a.get) for loc, a in pairs.items()}
    ed_mode = Counter(ed.values()).most_common(1)[0][0]
    es_mode = Counter(es.values()).most_common(1)[0][0]
    for loc, areas in by_loc.items():
        for phase in set(areas) - set(pairs.get(loc, ())):
            target = ed if phase == ed_mode else es if phase == es_mode else None
            if target is None:
                problems.append(
                    Problem(
                        str(folder),
                        f"contour at slice {loc}, phase {phase} is "
                        "neither at ED nor at ES; ignored",
                    )
                )
                continue
            target[loc] = phase
    return (
        [ed.get(loc, ed_mode) for loc in range(n_locations)],
        [es.get(loc, es_mode) for loc in range(n_locations)],
    )


class SunnybrookLoader:
    """Index and read the Sunnybrook layout (see the module doc)."""

    modality = "cardiac"
    preprocessing = cardiac_prep.PREPROCESSING

    def index(self, root: Path, split: str) -> Index:
        index = Index()
        link = root / "link.csv"
        if not index.missing(link, "link.csv (patient_id,original_id)"):
            return index
        index.metadata.append(link)
        try:
            table = read_table(link)
            require_columns(table, link, ("patient_id", "original_id"))
        except ReadError as exc:
            index.problems.append(exc.problem())
            return index
        for patient, original in zip(table["patient_id"], table["original_id"], strict=True):
            self._add(index, root, patient.strip(), original.strip())
        listed = set(table["patient_id"].str.strip())
        for folder in sorted((root / "dicoms").glob("*")):
            if folder.is_dir() and folder.name not in listed:
                index.problems.append(Problem(str(folder), "no row in link.csv; patient skipped"))
        return index

    def _add(self, index: Index, root: Path, patient: str, original: str) -> None:
        dicoms = sorted((root / "dicoms" / patient).glob("*.dcm"))
        contours = sorted((root / "contourfiles" / original).glob("[io]-contours/*.txt"))
        if not dicoms:
            index.problems.append(Problem(str(root / "dicoms" / patient), "missing: DICOM images"))
        elif not contours:
            folder = root / "contourfiles" / original
            index.problems.append(Problem(str(folder), "missing: contour files (patient skipped)"))
        else:
            meta = {"dicoms": dicoms, "contours": contours}
            index.items.append(Item(patient, patient, (*dicoms, *contours), meta))

    def read(self, item: Item, shape, problems: list[Problem], deep: bool = False) -> list:
        cine = scan_cine(item.meta["dicoms"], problems, pixels=deep)
        contours = read_contours(item.meta["contours"], cine)
        folder = item.meta["contours"][0].parent.parent
        ed, es = pick_phases(contours, len(cine.frames), problems, folder)
        images, masks = [], []
        for phases in (ed, es):
            image, mask = self._frame(cine, contours, phases)
            images.append(image)
            masks.append(mask)
        known = _demographics(read_dicom(cine.files[cine.frames[0][0]], pixels=False)[0])
        frames = cardiac_prep.Frames(images[0], images[1], cine.spacing, *masks, known)
        return cardiac_prep.subject_samples(item.subject, frames, shape)

    def _frame(self, cine: Cine, contours, phases: list[int]) -> tuple[np.ndarray, np.ndarray]:
        """The image and the contour mask of one phase, slice by slice."""
        slices, labels = [], []
        for loc, numbers in enumerate(cine.frames):
            phase = min(phases[loc], len(numbers) - 1)
            image = read_dicom(cine.files[numbers[phase]])[1]
            mask = np.zeros(image.shape, dtype=np.uint8)
            kinds = contours.get((loc, phase), {})
            if "o" in kinds:
                mask[polygon_mask(kinds["o"], image.shape)] = 2
            if "i" in kinds:
                mask[polygon_mask(kinds["i"], image.shape)] = 1
            slices.append(image)
            labels.append(mask)
        if len({s.shape for s in slices}) > 1:
            raise ReadError(cine.files[cine.frames[0][0]].parent, "images of different sizes")
        return np.stack(slices), np.stack(labels)


LOADER = SunnybrookLoader()
