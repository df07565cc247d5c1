"""Shared preprocessing of real cine MRI into the tasks' short-axis stacks, and attributes.

The same steps for every cardiac dataset (their version is ``PREPROCESSING``):

1. Orientation: a stack is reversed when the heart's area-weighted centre lies in the
   far half of its extent, so that slices run from base to apex as in UK Biobank and
   the phantoms (a ventricle's cross-section shrinks towards the apex, so that centre
   is nearer the base; about 0.375 of the length for a half-ellipsoid).
2. Slices: a window of D slices centred on the heart (ED and ES masks together); a
   shorter stack is padded with empty slices after the apex. The slice spacing is
   kept, not resampled (``CardiacSet.slice_mm``).
3. In-plane: a square field of view of 175.4 mm (UK Biobank's 96 x 1.8269 mm) centred
   on the heart's centroid is resampled to H x W, linear interpolation after a
   Gaussian anti-aliasing filter (sigma = (step - 1) / 2 input pixels); masks take
   per voxel the label whose filtered indicator is largest.
4. Intensities: per frame, the 0.5th and 99.5th percentiles of the native volume map to
   0 and 1, clipped (robust to the few very bright pixels of fat and flow).

Without a mask, the image centre and the stack centre stand in for the heart's.
Attributes come from the native-resolution masks, see :func:`derive_attributes`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

from bench.datasets.phantoms.cardiac import PAPER_SHAPE, VOXEL_MM
from bench.datasets.real.base import CardiacSample
from bench.datasets.types import ATTRIBUTES, MISSING

PREPROCESSING = "cardiac-1"
FOV_MM = VOXEL_MM[1] * PAPER_SHAPE[1]


@dataclass(frozen=True)
class Frames:
    """One subject's ED and ES frames at native resolution, (slices, rows, columns).

    Masks use UK Biobank labels (1 LV, 2 myocardium, 3 RV); ``known`` holds the
    attributes the dataset's metadata state (AGE, SEX, BMI).
    """

    ed: np.ndarray
    es: np.ndarray
    spacing: tuple[float, float, float]
    ed_mask: np.ndarray | None = None
    es_mask: np.ndarray | None = None
    known: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Geometry:
    """Where a subject's output stack lies in its native volume (shared by ED and ES)."""

    flip: bool
    start: int
    centre: tuple[float, float]


def subject_samples(subject: str, frames: Frames, shape: tuple[int, int, int]) -> list:
    """The ED and ES samples of one subject at ``shape`` (D, H, W)."""
    values = {**derive_attributes(frames), **frames.known}
    geometry = plan(frames, shape[0])
    samples = []
    phases = ((True, frames.ed, frames.ed_mask), (False, frames.es, frames.es_mask))
    for is_ed, image, mask in phases:
        out, out_mask = preprocess(image, mask, frames.spacing, geometry, shape)
        depth = float(out_mask.any(axis=(1, 2)).sum()) if mask is not None else MISSING
        attributes = attribute_vector({**values, "ESED": float(is_ed), "DEPTH": depth})
        slice_mm = frames.spacing[0]
        samples.append(
            CardiacSample(out, out_mask, attributes, slice_mm, subject, mask is not None)
        )
    return samples


def derive_attributes(frames: Frames) -> dict[str, float]:
    """LV/RV volumes (mL) and EF (%), wall thickness (mm) from the native masks.

    Volumes are voxel counts of labels 1 (LV) and 3 (RV) times the voxel volume (slice
    spacing x pixel area); EF = 100 (EDV - ESV) / EDV. Wall thickness is the mean over
    slices holding both cavity and myocardium of the equivalent-ring thickness
    sqrt((A_LV + A_myo) / pi) - sqrt(A_LV / pi), exact for a circular ring (the
    phantoms' wall). A structure absent from a mask stays missing (-1).

    Example:
        >>> ed = np.zeros((2, 8, 8), np.uint8); ed[:, 2:6, 2:6] = 1   # 32 LV voxels
        >>> es = np.zeros_like(ed); es[:, 3:5, 3:5] = 1               # 8 LV voxels
        >>> frames = Frames(ed, es, (10.0, 2.0, 2.0), ed, es)
        >>> values = derive_attributes(frames)
        >>> values["LVEDV"], values["LVESV"], values["LVEF"], values["RVEDV"]
        (1.28, 0.32, 75.0, -1.0)
    """
    voxel_ml = float(np.prod(frames.spacing)) / 1000.0
    values: dict[str, float] = {}
    for phase, mask in (("ED", frames.ed_mask), ("ES", frames.es_mask)):
        if mask is None:
            continue
        for name, label in (("LV", 1), ("RV", 3)):
            volume = float((mask == label).sum()) * voxel_ml
            values[f"{name}{phase}V"] = volume if volume > 0 else MISSING
        values[f"MYO{phase}THICK"] = ring_thickness(mask, frames.spacing)
    for name in ("LV", "RV"):
        values[f"{name}EF"] = ejection_fraction(values.get(f"{name}EDV"), values.get(f"{name}ESV"))
    return values


def ejection_fraction(edv: float | None, esv: float | None) -> float:
    """100 (EDV - ESV) / EDV, or missing.

    >>> ejection_fraction(150.0, 60.0), ejection_fraction(150.0, -1.0)
    (60.0, -1.0)
    """
    if edv is None or esv is None or edv <= 0 or esv < 0:
        return MISSING
    return 100.0 * (edv - esv) / edv


def ring_thickness(mask: np.ndarray, spacing: tuple[float, float, float]) -> float:
    """Mean equivalent-ring myocardial thickness (mm) over slices with cavity and wall.

    >>> yy, xx = np.mgrid[:64, :64] - 31.5
    >>> r = np.hypot(yy, xx)
    >>> ring = np.where(r < 10, 1, np.where(r < 15, 2, 0))[None]
    >>> abs(ring_thickness(ring, (10.0, 1.0, 1.0)) - 5.0) < 0.2  # pixelised 10-15 mm ring
    True
    """
    pixel = spacing[1] * spacing[2]
    a_lv = (mask == 1).sum(axis=(1, 2)) * pixel
    a_myo = (mask == 2).sum(axis=(1, 2)) * pixel
    both = (a_lv > 0) & (a_myo > 0)
    if not both.any():
        return MISSING
    thick = np.sqrt((a_lv + a_myo) / np.pi) - np.sqrt(a_lv / np.pi)
    return float(thick[both].mean())


def attribute_vector(values: dict[str, float | None]) -> np.ndarray:
    """The 14 attributes in paper order; absent or ``None`` values become -1."""
    row = [values.get(name) for name in ATTRIBUTES]
    return np.array([MISSING if v is None else v for v in row], dtype=np.float32)


def plan(frames: Frames, depth: int) -> Geometry:
    """Orientation, slice window and in-plane centre from the masks (ED and ES)."""
    masks = [m for m in (frames.ed_mask, frames.es_mask) if m is not None]
    n, rows, cols = frames.ed.shape
    heart = np.any([m > 0 for m in masks], axis=0) if masks else None
    if heart is None or not heart.any():
        return Geometry(False, max(0, (n - depth) // 2), ((rows - 1) / 2, (cols - 1) / 2))
    flip = base_last((masks[0] > 0).sum(axis=(1, 2)))
    if flip:
        heart = heart[::-1]
    centre = np.argwhere(heart)[:, 1:].mean(axis=0)
    return Geometry(flip, window_start(heart.sum(axis=(1, 2)), depth), tuple(centre.tolist()))


def base_last(area: np.ndarray) -> bool:
    """True when the base is at the end: the area-weighted centre is in the far half.

    >>> base_last(np.array([0, 10, 40, 60, 50, 0])), base_last(np.array([60, 50, 30, 10]))
    (True, False)
    """
    index = np.flatnonzero(area > 0)
    if len(index) < 2:
        return False
    weights = area[index].astype(float)
    return bool((index * weights).sum() / weights.sum() > (index[0] + index[-1]) / 2)


def window_start(area: np.ndarray, depth: int) -> int:
    """First slice of a ``depth``-slice window centred on the slices with heart.

    >>> window_start(np.array([0, 0, 5, 5, 5, 0, 0, 0]), 4)
    2
    """
    n = len(area)
    index = np.flatnonzero(area > 0)
    if n <= depth or len(index) == 0:
        return max(0, (n - depth) // 2)
    centre = (index[0] + index[-1]) / 2
    return int(np.clip(round(centre - (depth - 1) / 2), 0, n - depth))


def preprocess(image, mask, spacing, geometry: Geometry, shape) -> tuple[np.ndarray, np.ndarray]:
    """One frame through steps 1-4 of the module doc; an absent mask gives zeros."""
    image = unit_scale(image)
    if geometry.flip:
        image = image[::-1]
        mask = mask[::-1] if mask is not None else None
    image = take_slices(image, geometry.start, shape[0])
    out = resample_plane(image, spacing[1:], geometry.centre, shape[1:]).clip(0.0, 1.0)
    if mask is None:
        return out.astype(np.float32), np.zeros(shape, dtype=np.uint8)
    mask = take_slices(mask, geometry.start, shape[0])
    return out.astype(np.float32), resample_labels(mask, spacing[1:], geometry.centre, shape[1:])


def unit_scale(volume: np.ndarray) -> np.ndarray:
    """Percentiles 0.5 and 99.5 to 0 and 1, clipped; a constant volume gives zeros.

    >>> float(unit_scale(np.arange(1001.0)).max()), float(unit_scale(np.ones(3)).max())
    (1.0, 0.0)
    """
    low, high = np.percentile(volume, [0.5, 99.5])
    if not high > low:
        return np.zeros(volume.shape, dtype=np.float32)
    return ((volume - low) / (high - low)).clip(0.0, 1.0).astype(np.float32)


def take_slices(volume: np.ndarray, start: int, depth: int) -> np.ndarray:
    """``depth`` slices from ``start``, padded with empty slices at the end.

    >>> take_slices(np.ones((3, 2, 2)), 1, 4).sum(axis=(1, 2)).tolist()
    [4.0, 4.0, 0.0, 0.0]
    """
    part = volume[start : start + depth]
    if len(part) == depth:
        return np.ascontiguousarray(part)
    pad = np.zeros((depth - len(part), *volume.shape[1:]), dtype=volume.dtype)
    return np.concatenate([part, pad])


def resample_plane(volume, spacing_yx, centre, out_hw, order: int = 1) -> np.ndarray:
    """The FOV_MM square around ``centre`` (native pixels) at ``out_hw`` pixels per slice.

    >>> volume = np.ones((2, 256, 256), np.float32)
    >>> out = resample_plane(volume, (1.37, 1.37), (127.5, 127.5), (32, 32))
    >>> out.shape, round(float(out[0, 16, 16]), 3)
    ((2, 32, 32), 1.0)
    """
    step = np.array([FOV_MM / out_hw[0], FOV_MM / out_hw[1]]) / np.asarray(spacing_yx, float)
    volume = np.asarray(volume, dtype=np.float32)
    if order > 0 and (step > 1).any():
        volume = ndimage.gaussian_filter(volume, (0.0, *np.maximum((step - 1) / 2, 0.0)))
    offset = np.asarray(centre, float) - (np.asarray(out_hw) - 1) / 2 * step
    return ndimage.affine_transform(
        volume,
        np.array([1.0, step[0], step[1]]),
        offset=(0.0, *offset),
        output_shape=(volume.shape[0], *out_hw),
        order=order,
        mode="constant",
        cval=0.0,
    )


def resample_labels(mask, spacing_yx, centre, out_hw) -> np.ndarray:
    """Labels resampled like the image: the most likely label per output voxel."""
    channels = [resample_plane(mask == k, spacing_yx, centre, out_hw) for k in range(4)]
    return np.argmax(np.stack(channels), axis=0).astype(np.uint8)
