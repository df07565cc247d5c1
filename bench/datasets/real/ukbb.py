"""UK Biobank short-axis stacks in study A's layout (``data/cardiac_mri_loader3d.py``).

Layout: ``ROOT/{training,validation,testing}.npy`` each hold an array of paths to
sample files; a sample file is ``np.save`` of a dict ``{"image": (13, 96, 96) in [0,
1], "labels": (14,)}``, the attributes in paper order with NaN for missing (-1 here, as
the seed's loader does). ED and ES are separate samples (``labels[ESED]``). Listed
paths are often absolute paths of the machine that made them: a path that does not
exist is looked for relative to ROOT, then by its name in ROOT, then in ROOT/<its
parent folder's name>.

Sample files are pickles. They are read with a restricted unpickler that can only
rebuild numpy arrays and plain containers, never run code, so a user's data folder
cannot execute anything. A listed path that resolves outside ROOT is not opened unless
``--follow-links`` is given; it is still looked for by name inside ROOT. Every sample is
checked before use: finite image values of a real dtype, an image (D, H, H), 14 finite
labels (NaN = missing) with ESED 0 or 1 and SEX 0 or 1. Images are already cropped
(96 x 1.8269 mm) and scaled to [0, 1] by study A's preprocessing: they are only
resampled to the task's shape (a centred window of slices, the whole field of view
in-plane) and clipped. UK Biobank
files carry no segmentation (``has_masks`` is False). The subject is the file name
without an ``_ED`` / ``_ES`` suffix, or its folder when that leaves a generic name.
"""

from __future__ import annotations

import pickle
import re
import tokenize
from pathlib import Path

import numpy as np

from bench.datasets.real import cardiac_prep, paths
from bench.datasets.real.base import CardiacSample, Index, Item, ReadError, reason
from bench.datasets.real.io import finite_ok
from bench.datasets.types import ATTRIBUTES, MISSING, Problem

SPLITS = {"train": "training", "val": "validation", "test": "testing"}
_SAFE = {
    (module, name)
    for module in ("numpy.core.multiarray", "numpy._core.multiarray")
    for name in ("_reconstruct", "scalar")
} | {("numpy", "ndarray"), ("numpy", "dtype")}
_PHASE = re.compile(r"[_-]?(ED|ES|ed|es)$")
_CATEGORIES = {"ESED": (0.0, 1.0), "SEX": (0.0, 1.0, MISSING)}
_NON_NEGATIVE = ("LVEDV", "LVESV", "RVEDV", "RVESV", "MYOESTHICK", "MYOEDTHICK", "AGE", "BMI")
EXPECTED = "a .npy dict with 'image' and 'labels'"
SHAPES = "image (D, H, H) and labels (14,)"


class _ArrayUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if (module, name) in _SAFE:
            return super().find_class(module, name)
        # the names come from the file: not repeated in the message
        raise pickle.UnpicklingError("refusing to load a pickled object that is not array data")


def load_npy(path: Path, expected: str = "a .npy file"):
    """A ``.npy`` array; object arrays go through the restricted unpickler.

    Raises:
        ReadError: on any unreadable, torn or foreign file (never quoting its bytes).
    """
    try:
        with open(path, "rb") as handle:
            version = np.lib.format.read_magic(handle)
            if version == (1, 0):
                _, _, dtype = np.lib.format.read_array_header_1_0(handle)
            else:
                _, _, dtype = np.lib.format.read_array_header_2_0(handle)
            if dtype.hasobject:
                return _ArrayUnpickler(handle).load()
        return np.load(path, allow_pickle=False)
    except (tokenize.TokenError, SyntaxError):  # numpy parses the header as Python
        raise ReadError(path, f"expected {expected} (its .npy header is torn)") from None
    except Exception as exc:  # EOFError, a wrong magic string, a torn pickle, ...
        raise ReadError(path, f"expected {expected} ({reason(exc)})") from None


def read_sample(path: Path) -> dict:
    """The checked ``image`` and ``labels`` of a sample file, without running pickled code."""
    data = load_npy(path, EXPECTED)
    try:
        data = data.item() if isinstance(data, np.ndarray) and data.dtype.hasobject else data
        image, labels = np.asarray(data["image"]), np.asarray(data["labels"])
    except Exception as exc:  # not a dict, no such key, ...
        raise ReadError(path, f"expected {EXPECTED} ({reason(exc)})") from None
    for what, array in (("image", image), ("labels", labels)):
        if array.dtype.kind not in "biuf":
            raise ReadError(path, f"expected real numbers in '{what}', got dtype {array.dtype}")
    image = image[0] if image.ndim == 4 and image.shape[0] == 1 else image
    if image.ndim != 3 or image.shape[1] != image.shape[2] or min(image.shape) < 1:
        raise ReadError(path, f"expected {SHAPES}, got image {image.shape}")
    if labels.shape != (len(ATTRIBUTES),):
        raise ReadError(path, f"expected {SHAPES}, got labels {labels.shape}")
    labels = labels.astype(float)
    labels[np.isnan(labels)] = MISSING  # not nan_to_num: it would make inf a finite 1.8e308
    found = [*_image_problems(image, path), *label_problems(labels)]
    if found:
        raise ReadError(path, "; ".join(found))
    return {"image": image.astype(np.float32), "labels": labels}


def _image_problems(image: np.ndarray, path: Path) -> list[str]:
    try:
        finite_ok(image, path)
    except ReadError as exc:
        return [f"image: {exc.message}"]
    return []


def label_problems(labels: np.ndarray) -> list[str]:
    """What is wrong with 14 labels (NaN already -1), as one message or none.

    >>> label_problems(np.array([np.inf] + [0.0] * 10 + [2.0, 0.0, 0.0]))[0][:40]
    'labels out of range: LVEDV, ESED (expect'
    """
    value = dict(zip(ATTRIBUTES, labels.tolist(), strict=True))
    bad = [name for name, v in value.items() if not np.isfinite(v)]
    bad += [name for name, allowed in _CATEGORIES.items() if value[name] not in allowed]
    bad += [name for name in _NON_NEGATIVE if not (value[name] >= 0 or value[name] == MISSING)]
    if not bad:
        return []
    rule = "finite; ESED 0 or 1; SEX 0 or 1; volumes, thickness, AGE, BMI >= 0; NaN = missing"
    return [f"labels out of range: {', '.join(dict.fromkeys(bad))} (expected {rule})"]


def resolve(entry: str, root: Path) -> tuple[Path | None, Path | None]:
    """Where a listed sample path lives on this machine: (usable path, refused path).

    The first candidate that exists and may be opened is used; when only candidates
    outside ROOT exist (see :mod:`~bench.datasets.real.paths`), the first is returned
    as refused, to be reported.
    """
    path = Path(entry)
    candidates = [path] if path.is_absolute() else [root / path]
    candidates += [root / path.name, root / path.parent.name / path.name]
    existing = [c for c in candidates if c.is_file()]
    usable = next((c for c in existing if paths.outside(c) is None), None)
    return usable, (existing[0] if existing and usable is None else None)


def subject_of(path: Path) -> str:
    """Subject id from a sample file's name.

    >>> subject_of(Path("/d/1000213_ED.npy")), subject_of(Path("/d/1000213/sa_ES.npy"))
    ('1000213', '1000213')
    """
    stem = _PHASE.sub("", path.stem)
    return path.parent.name if stem.lower() in ("", "sa", "sample", "data", "image") else stem


class UkbbLoader:
    """Index and read study A's UK Biobank layout (see the module doc)."""

    modality = "cardiac"
    preprocessing = cardiac_prep.PREPROCESSING

    def index(self, root: Path, split: str) -> Index:
        index = Index()
        names = [n for s, n in SPLITS.items() if split in ("all", s)]
        for name in names:
            listing = root / f"{name}.npy"
            if index.missing(listing, f"{name}.npy listing the {name} sample files"):
                index.metadata.append(listing)
                self._add_listing(index, listing, root)
        return index

    def _add_listing(self, index: Index, listing: Path, root: Path) -> None:
        try:
            entries = np.asarray(load_npy(listing, "a .npy array of sample file paths"))
            if entries.size and entries.dtype.kind not in "US":  # np.array([]) is float
                raise ReadError(listing, f"expected sample file paths, got dtype {entries.dtype}")
        except ReadError as exc:
            index.problems.append(exc.problem())
            return
        for entry in np.atleast_1d(entries).astype(str):
            path, refused = resolve(entry, root)
            if refused is not None:
                message = f"sample file listed in {listing.name} {paths.outside(refused)}"
                index.problems.append(Problem(entry, message))
            elif path is None:
                message = f"missing: sample file listed in {listing.name}"
                index.problems.append(Problem(entry, message))
            else:
                index.items.append(Item(str(path), subject_of(path), (path,)))

    def read(self, item: Item, shape, problems: list[Problem], deep: bool = False) -> list:
        sample = read_sample(item.files[0])
        image = sample["image"]
        rows, cols = image.shape[1:]
        spacing = (cardiac_prep.FOV_MM / rows, cardiac_prep.FOV_MM / cols)
        image = cardiac_prep.take_slices(image, max(0, (len(image) - shape[0]) // 2), shape[0])
        centre = ((rows - 1) / 2, (cols - 1) / 2)
        out = cardiac_prep.resample_plane(image, spacing, centre, shape[1:]).clip(0.0, 1.0)
        mask = np.zeros(shape, dtype=np.uint8)
        labels = sample["labels"].astype(np.float32)
        slice_mm = float(cardiac_prep.VOXEL_MM[0])
        return [CardiacSample(out.astype(np.float32), mask, labels, slice_mm, item.subject, False)]


LOADER = UkbbLoader()
