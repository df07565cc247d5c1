"""Procedural short-axis cine MRI phantoms of the heart, rendered from an attribute vector.

Each subject has an end-diastolic (ED) and an end-systolic (ES) frame, stored as two
consecutive samples (index ``2k`` is ED and ``2k + 1`` is ES of subject ``k``), as in
UK Biobank. Attributes are drawn first (a UK Biobank-like adult population for the
``private`` variant, an ACDC-like pathology mix for ``public``), then the anatomy is
rendered from them: a truncated bullet-shaped LV cavity sized to LVEDV / LVESV, a
myocardial ring of thickness MYOEDTHICK / MYOESTHICK (the ES value follows from a
constant myocardial volume), an RV crescent on the septum sized to RVEDV / RVESV,
all rotated by ANGLE and spanning DEPTH slices. The image has SSFP contrast (bright
blood, dark myocardium, bright fat, dark lungs), a smooth bias field and Rician noise,
scaled to [0, 1] per volume. Pure numpy + scipy.ndimage.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from bench.datasets.phantoms._cardiac_mri import SCANNERS, Scene, acquire, paint

ATTRIBUTES: tuple[str, ...] = (
    "LVEDV", "LVESV", "LVEF", "RVEDV", "RVESV", "RVEF", "MYOESTHICK", "MYOEDTHICK",
    "AGE", "SEX", "BMI", "ESED", "ANGLE", "DEPTH",
)  # fmt: skip
LABELS: dict[str, int] = {"background": 0, "LV": 1, "myocardium": 2, "RV": 3}
VOXEL_MM: tuple[float, float, float] = (10.0, 1.8269, 1.8269)
PAPER_SHAPE: tuple[int, int, int] = (13, 96, 96)
# ACDC-like groups of the public variant, drawn with equal probability, and how each
# shifts a normal subject's attributes: (attribute, "scale" or "set", low, high).
PATHOLOGY_SHIFTS: dict[str, tuple[tuple[str, str, float, float], ...]] = {
    "NOR": (),
    "DCM": (
        ("lvedv", "scale", 1.5, 2.2),
        ("lvef", "set", 10, 40),
        ("ed_thick", "scale", 0.75, 0.95),
        ("length_mm", "scale", 1.05, 1.15),
    ),
    "HCM": (("lvedv", "scale", 0.7, 1.0), ("lvef", "set", 65, 80), ("ed_thick", "set", 12, 20)),
    "MINF": (("lvedv", "scale", 1.1, 1.6), ("lvef", "set", 20, 45), ("ed_thick", "scale", 0.85, 1)),
    "ARV": (("rvedv", "scale", 1.5, 2.2), ("rvef", "set", 20, 45)),
}
_VARIANTS = {"private": 1, "public": 2}


@dataclass(frozen=True)
class CardiacPhantoms:
    """A batch of cardiac phantoms.

    Attributes:
        images: float32 (n, D, H, W) in [0, 1].
        masks: uint8 (n, D, H, W), labels as in ``LABELS``.
        attributes: float32 (n, 14) in ``ATTRIBUTES`` order, raw units (mL, %, mm,
            years, SEX 1 = male, kg/m2, ESED 1 = ED / 0 = ES, ANGLE in degrees,
            DEPTH = number of slices that contain heart).
        variant: ``"public"`` or ``"private"``.
        spacing_mm: Voxel size (slice, row, column) in mm.
    """

    images: np.ndarray
    masks: np.ndarray
    attributes: np.ndarray
    variant: str
    spacing_mm: tuple[float, float, float]


@dataclass(frozen=True)
class _Subject:
    """Subject-level attributes (ED and ES share them)."""

    sex: float
    age: float
    bmi: float
    lvedv: float
    lvef: float
    rvedv: float
    rvef: float
    ed_thick: float
    length_mm: float
    shortening: float


@dataclass(frozen=True)
class _Pose:
    """Shape and placement parameters of one subject's heart (mm, radians)."""

    ecc: float
    taper: float
    angle: float
    centre: np.ndarray
    drift: np.ndarray
    rv_dir: float
    rv_span: float
    fat_mm: float
    fat: np.ndarray
    wobble: np.ndarray
    first: int


@dataclass(frozen=True)
class _Frame:
    """Per-slice geometry of one cardiac phase; arrays have one entry per slice."""

    cavity: np.ndarray
    thick: np.ndarray
    rv_width: np.ndarray
    first: int
    apex: int
    wall: float


def make_cardiac(
    n: int,
    variant: Literal["public", "private"],
    shape: tuple[int, int, int] = PAPER_SHAPE,
    seed: int = 0,
) -> CardiacPhantoms:
    """Generate ``n`` cardiac short-axis phantoms (ED and ES frames alternate).

    Sample ``i`` depends only on ``(seed, variant, i // 2, i % 2, shape)``, not on ``n``.
    The field of view stays that of the paper shape: a smaller shape has larger voxels.

    Args:
        n: Number of samples (frames), at least 1.
        variant: ``"private"`` (UK Biobank-like) or ``"public"`` (ACDC-like pathology mix,
            another scanner profile).
        shape: (D, H, W), D >= 4 slices, H, W >= 16 pixels.
        seed: Seed of the whole data set.

    Returns:
        A ``CardiacPhantoms`` batch.

    Raises:
        ValueError: On an unknown variant, a bad ``n`` or a bad ``shape``.

    Example:
        >>> data = make_cardiac(2, "private", shape=(8, 32, 32))
        >>> data.images.shape, data.masks.dtype.name, data.attributes.shape
        ((2, 8, 32, 32), 'uint8', (2, 14))
        >>> data.attributes[:, ATTRIBUTES.index("ESED")].tolist()
        [1.0, 0.0]
    """
    shape = _validate(n, variant, shape)
    spacing = (
        VOXEL_MM[0] * PAPER_SHAPE[0] / shape[0],
        VOXEL_MM[1] * PAPER_SHAPE[1] / shape[1],
        VOXEL_MM[2] * PAPER_SHAPE[2] / shape[2],
    )
    images = np.empty((n, *shape), dtype=np.float32)
    masks = np.empty((n, *shape), dtype=np.uint8)
    attributes = np.empty((n, len(ATTRIBUTES)), dtype=np.float32)
    for i in range(n):
        images[i], masks[i], attributes[i] = _sample(seed, variant, i, shape, spacing)
    return CardiacPhantoms(images, masks, attributes, variant, spacing)


def mask_volumes_ml(masks: np.ndarray, spacing_mm: tuple[float, float, float]) -> np.ndarray:
    """Volume in mL of each label of ``LABELS`` (LV, myocardium, RV) in one or more masks.

    Args:
        masks: Integer labels, (D, H, W) or (n, D, H, W).
        spacing_mm: Voxel size in mm.

    Returns:
        Array (..., 3) with the LV, myocardium and RV volumes in mL.

    Example:
        >>> mask = np.zeros((2, 10, 10), dtype=np.uint8); mask[0, :5] = 1
        >>> mask_volumes_ml(mask, (10.0, 2.0, 2.0)).tolist()
        [2.0, 0.0, 0.0]
    """
    voxel_ml = float(np.prod(spacing_mm)) / 1000.0
    axes = tuple(range(masks.ndim - 3, masks.ndim))
    labels = (LABELS["LV"], LABELS["myocardium"], LABELS["RV"])
    return np.stack([(masks == k).sum(axis=axes) * voxel_ml for k in labels], axis=-1)


def _validate(n: int, variant: str, shape: tuple[int, int, int]) -> tuple[int, int, int]:
    if variant not in _VARIANTS:
        raise ValueError(f"unknown cardiac variant {variant!r}; expected one of {list(_VARIANTS)}")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    shape = tuple(shape)
    if len(shape) != 3 or not all(isinstance(s, (int, np.integer)) for s in shape):
        raise ValueError(f"shape must be three integers (D, H, W), got {shape!r}")
    if shape[0] < 4 or min(shape[1:]) < 16:
        raise ValueError(f"shape {shape!r} too small: need D >= 4 slices and H, W >= 16")
    return (int(shape[0]), int(shape[1]), int(shape[2]))


def _sample(seed: int, variant: str, index: int, shape, spacing):
    """Render sample ``index``: the ED (even) or ES (odd) frame of subject ``index // 2``."""
    streams = np.random.SeedSequence([seed, _VARIANTS[variant], index // 2]).spawn(4)
    subject_rng, scene_rng = (np.random.default_rng(s) for s in streams[:2])
    is_ed = index % 2 == 0
    subject = _sample_subject(subject_rng, variant)
    pose = _sample_pose(subject_rng, variant, subject, shape[0], spacing[0])
    ed, es = _frames(subject, pose, shape[0], spacing[0])
    frame = ed if is_ed else es
    coords = _heart_coordinates(shape, spacing, pose)
    anatomy = _anatomy(frame, pose, *coords)
    scene = Scene(scene_rng, SCANNERS[variant], shape)
    image = paint(scene, anatomy, frame, coords)
    image = acquire(scene, image, spacing, np.random.default_rng(streams[2 + int(not is_ed)]))
    return image, _labels(anatomy), _attributes(subject, pose, ed, es, is_ed)


def _sample_subject(rng: np.random.Generator, variant: str) -> _Subject:
    """UK Biobank-like adult (private) or ACDC-like pathology mix (public)."""
    male = float(rng.random() < 0.5)
    if variant == "private":
        age, bmi = np.clip(rng.normal(64.0, 7.5), 45, 82), np.exp(rng.normal(np.log(26.5), 0.15))
    else:
        age, bmi = np.clip(rng.normal(55.0, 15.0), 18, 90), np.exp(rng.normal(np.log(26.0), 0.18))
    bmi = float(np.clip(bmi, 17.0, 45.0))
    size = np.exp(rng.normal(0.0, 0.12)) * (1 + 0.008 * (bmi - 26.5)) * (1 - 0.003 * (age - 64))
    values = {
        "lvedv": (150.0 if male else 122.0) * size,
        "lvef": float(np.clip(rng.normal(60.0 if male else 63.0, 4.5), 48, 75)),
        "rvedv": (150.0 if male else 122.0)
        * size
        * np.exp(rng.normal(0.06 if male else 0.02, 0.06)),
        "rvef": float(np.clip(rng.normal(56.0 if male else 59.0, 4.5), 45, 72)),
        "ed_thick": float(
            np.clip(rng.normal(7.8 if male else 6.8, 0.7) + 0.02 * (age - 64), 5, 11)
        ),
        "length_mm": rng.normal(93.0 if male else 85.0, 5.0) * size ** (1 / 3),
    }
    group = rng.choice(list(PATHOLOGY_SHIFTS)) if variant == "public" else "NOR"
    values = _apply_pathology(rng, str(group), values)
    shortening = float(np.clip(0.12 * values["lvef"] / 62 + rng.normal(0, 0.02), 0.03, 0.2))
    return _Subject(male, float(round(age)), bmi, shortening=shortening, **values)


def _apply_pathology(rng: np.random.Generator, group: str, values: dict) -> dict:
    """Shift the attributes as ACDC's groups do (dilated, hypertrophic, infarcted, abnormal RV)."""
    values = dict(values)
    for name, how, low, high in PATHOLOGY_SHIFTS[group]:
        draw = rng.uniform(low, high)
        values[name] = values[name] * draw if how == "scale" else draw
    return values


def _sample_pose(rng, variant: str, subject: _Subject, depth: int, dz: float) -> _Pose:
    """Shape, orientation and placement; the stack starts 0-2 slices above the base."""
    angle_sd, angle_mean = (8.0, 0.0) if variant == "private" else (15.0, -5.0)
    angle = np.deg2rad(np.clip(rng.normal(angle_mean, angle_sd), -45, 45))
    offset = np.array([10.0, 0.0]) + rng.normal(0.0, 5.0, size=2)
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    depth_ed = int(np.clip(round(subject.length_mm / dz), 3, depth))
    return _Pose(
        ecc=rng.uniform(0.82, 0.98),
        taper=rng.uniform(2.2, 3.5),
        angle=float(angle),
        centre=rotation @ offset,
        drift=rng.normal(0.0, 1.5, size=2),
        rv_dir=np.deg2rad(165.0 + rng.normal(0.0, 6.0)),
        rv_span=np.deg2rad(rng.uniform(60.0, 80.0)),
        fat_mm=float(np.clip(1.0 + 0.2 * (subject.bmi - 22) + rng.normal(0, 0.8), 0.5, 4.0)),
        fat=np.column_stack([rng.normal(0, 0.25, 4), rng.uniform(0, 2 * np.pi, 4)]),
        wobble=np.column_stack([[0, *rng.normal(0, 0.02, 3)], rng.uniform(0, 2 * np.pi, 4)]),
        first=int(min(depth - depth_ed, rng.integers(0, 3))),
    )


def _cavity_radii(volume_ml: float, n_cav: int, pose: _Pose, dz: float) -> np.ndarray:
    """Major semi-axes (mm) of the cavity ellipses from base to apex with the given volume."""
    u = (np.arange(n_cav) + 0.5) / n_cav
    profile = (1.0 - u**pose.taper) ** (1.0 / pose.taper)
    scale = np.sqrt(volume_ml * 1000.0 / (dz * np.pi * pose.ecc * np.sum(profile**2)))
    return scale * profile


def _rv_widths(volume_ml: float, epi: tuple[np.ndarray, np.ndarray], pose: _Pose, dz: float):
    """Crescent widths (mm) per RV slice so that the RV areas add up to ``volume_ml``.

    The crescent spans ``rv_span`` either side of ``rv_dir`` with width
    ``w * (1 - (dphi / span)**2)**0.6`` outside the epicardial ellipse, so its area
    ``I1 * w + I2 * w**2`` is quadratic in ``w``.
    """
    semi_a, semi_b = epi
    n_rv = len(semi_a)
    v = (np.arange(n_rv) + 0.5) / n_rv
    areas = volume_ml * 1000.0 / dz * (1 - v**2) / np.sum(1 - v**2)
    dphi = np.linspace(-pose.rv_span, pose.rv_span, 181)
    prof = (1 - (dphi / pose.rv_span) ** 2) ** 0.6
    phi = pose.rv_dir + dphi
    r_epi = 1 / np.sqrt(
        np.cos(phi) ** 2 / semi_a[:, None] ** 2 + np.sin(phi) ** 2 / semi_b[:, None] ** 2
    )
    i1 = np.trapezoid(r_epi * prof, dphi, axis=1)
    i2 = 0.5 * np.trapezoid(prof**2, dphi)
    return (-i1 + np.sqrt(i1**2 + 4 * i2 * areas)) / (2 * i2)


def _frames(subject: _Subject, pose: _Pose, depth: int, dz: float) -> tuple[_Frame, _Frame]:
    """ED and ES geometry: apex fixed, base descending, myocardial volume conserved."""
    depth_ed = int(np.clip(round(subject.length_mm / dz), 3, depth))
    depth_es = int(np.clip(round(subject.length_mm * (1 - subject.shortening) / dz), 3, depth_ed))
    apex = pose.first + depth_ed - 1
    lvesv = subject.lvedv * (1 - subject.lvef / 100)
    rvesv = subject.rvedv * (1 - subject.rvef / 100)
    a_ed = _cavity_radii(subject.lvedv, depth_ed - 1, pose, dz)
    a_es = _cavity_radii(lvesv, depth_es - 1, pose, dz)
    t_ed = subject.ed_thick
    myo = np.sum(t_ed * a_ed * (1 + pose.ecc) + t_ed**2)
    s_es = np.sum(a_es) * (1 + pose.ecc)
    t_es = (-s_es + np.sqrt(s_es**2 + 4 * len(a_es) * myo)) / (2 * len(a_es))
    cap = 1.3 * t_ed + 2.0
    ed = _frame(a_ed, t_ed, cap, subject.rvedv, pose, depth, apex, dz)
    es = _frame(a_es, t_es, cap, rvesv, pose, depth, apex, dz)
    return ed, es


def _frame(radii, thick, cap, rv_ml, pose: _Pose, depth: int, apex: int, dz: float) -> _Frame:
    """Lay one phase's cavity radii, wall thickness and RV widths onto the slice axis."""
    n_cav = len(radii)
    first = apex - n_cav
    cavity, thicks, widths = np.zeros(depth), np.zeros(depth), np.zeros(depth)
    cavity[first:apex] = radii
    thicks[first:apex] = thick
    thicks[apex] = cap
    n_rv = max(1, round(0.85 * n_cav))
    epi = (radii[:n_rv] + thick, pose.ecc * radii[:n_rv] + thick)
    widths[first : first + n_rv] = _rv_widths(rv_ml, epi, pose, dz)
    return _Frame(cavity, thicks, widths, first, apex, float(thick))


def _heart_coordinates(shape, spacing, pose: _Pose) -> tuple[np.ndarray, np.ndarray]:
    """Heart-frame coordinates (mm) of every voxel: x lateral (right), y anterior (up)."""
    depth, rows, cols = shape
    x = (np.arange(cols) - (cols - 1) / 2) * spacing[2]
    y = -(np.arange(rows) - (rows - 1) / 2) * spacing[1]
    shift = pose.centre + np.outer(np.arange(depth) - depth / 2, pose.drift)
    dx = x[None, None, :] - shift[:, 0, None, None]
    dy = y[None, :, None] - shift[:, 1, None, None]
    cos, sin = np.cos(pose.angle), np.sin(pose.angle)
    return cos * dx + sin * dy, -sin * dx + cos * dy


def _harmonics(phi: np.ndarray, coefficients: np.ndarray) -> np.ndarray:
    """``sum_k c_k cos(k phi + p_k)`` for k = 1.. from rows (c_k, p_k), via a lookup table."""
    table_phi = np.linspace(-np.pi, np.pi, 361)
    k = np.arange(1, len(coefficients) + 1)[:, None]
    table = np.sum(coefficients[:, :1] * np.cos(k * table_phi + coefficients[:, 1:]), axis=0)
    return np.interp(phi, table_phi, table)


def _ellipse_radius(cos2: np.ndarray, sin2: np.ndarray, semi_a, semi_b) -> np.ndarray:
    """Radius of an axis-aligned ellipse along directions given by cos**2 and sin**2."""
    return 1 / np.sqrt(cos2 / np.maximum(semi_a, 1e-6) ** 2 + sin2 / np.maximum(semi_b, 1e-6) ** 2)


def _anatomy(frame: _Frame, pose: _Pose, ux: np.ndarray, uy: np.ndarray) -> dict:
    """Boolean maps of the labelled structures and of the unlabelled heart surroundings.

    Cavity and epicardium are ellipses with a small smooth boundary wobble; the RV
    crescent sits outside the epicardium around ``rv_dir``, then its free wall, then
    epicardial fat of varying thickness and the pericardium.
    """
    a, t = frame.cavity[:, None, None], frame.thick[:, None, None]
    r, phi = np.hypot(ux, uy), np.arctan2(uy, ux)
    cos2 = (ux / np.maximum(r, 1e-9)) ** 2
    wobble = 1 + _harmonics(phi, pose.wobble)
    r_endo = np.where(a > 0, _ellipse_radius(cos2, 1 - cos2, a, pose.ecc * a) * wobble, -1.0)
    r_epi = np.where(t > 0, _ellipse_radius(cos2, 1 - cos2, a + t, pose.ecc * a + t) * wobble, -1.0)
    dphi = np.angle(np.exp(1j * (phi - pose.rv_dir)))
    width = frame.rv_width[:, None, None] * np.clip(1 - (dphi / pose.rv_span) ** 2, 0, None) ** 0.6
    rv = (width > 0) & (r >= r_epi) & (r < r_epi + width)
    r_out = r_epi + np.where(width > 0, width + 3.0, 0.0)
    fat = pose.fat_mm * np.clip(0.3 + _harmonics(phi, pose.fat), 0, None)
    heart = r_epi > 0
    return {
        "cavity": r < r_endo, "myocardium": (r < r_epi) & (r >= r_endo), "rv": rv,
        "rv_wall": (width > 0) & (r >= r_epi + width) & (r < r_out),
        "fat": heart & (r >= r_out) & (r < r_out + fat),
        "pericardium": heart & (r >= r_out + fat) & (r < r_out + fat + 1.5),
        "papillary": _papillary(frame, pose, ux, uy) & (r < r_endo),
    }  # fmt: skip


def _papillary(frame: _Frame, pose: _Pose, ux: np.ndarray, uy: np.ndarray) -> np.ndarray:
    """Two papillary muscles in the mid and apical cavity (image only; labelled LV)."""
    n_cav = frame.apex - frame.first
    k = np.arange(len(frame.cavity)) - frame.first
    active = ((k >= 0.25 * n_cav) & (k < n_cav - 0.5))[:, None, None]
    a = frame.cavity[:, None, None]
    radius = np.clip(0.16 * frame.cavity.max(), 2.5, 6.0)
    out = np.zeros(ux.shape, dtype=bool)
    for angle in (np.deg2rad(45.0), np.deg2rad(-120.0)):
        cx, cy = 0.62 * a * np.cos(angle), 0.62 * pose.ecc * a * np.sin(angle)
        out |= np.hypot(ux - cx, uy - cy) < radius
    return out & active


def _labels(anatomy: dict) -> np.ndarray:
    labels = np.zeros(anatomy["cavity"].shape, dtype=np.uint8)
    labels[anatomy["myocardium"]] = LABELS["myocardium"]
    labels[anatomy["rv"]] = LABELS["RV"]
    labels[anatomy["cavity"]] = LABELS["LV"]
    return labels


def _attributes(subject: _Subject, pose: _Pose, ed: _Frame, es: _Frame, is_ed: bool) -> np.ndarray:
    frame = ed if is_ed else es
    lvesv = subject.lvedv * (1 - subject.lvef / 100)
    rvesv = subject.rvedv * (1 - subject.rvef / 100)
    values = {
        "LVEDV": subject.lvedv, "LVESV": lvesv, "LVEF": subject.lvef,
        "RVEDV": subject.rvedv, "RVESV": rvesv, "RVEF": subject.rvef,
        "MYOESTHICK": es.wall, "MYOEDTHICK": ed.wall,
        "AGE": subject.age, "SEX": subject.sex, "BMI": subject.bmi, "ESED": float(is_ed),
        "ANGLE": np.rad2deg(pose.angle), "DEPTH": float(frame.apex - frame.first + 1),
    }  # fmt: skip
    return np.array([values[name] for name in ATTRIBUTES], dtype=np.float32)
