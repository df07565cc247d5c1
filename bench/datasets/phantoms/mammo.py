"""Procedural mammography mass patches: benign versus malignant masses on parenchymal texture.

Benign masses are round or oval with circumscribed margins; malignant ones are
irregular with spiculated or indistinct margins (BI-RADS mass descriptors). The
parenchyma is a power-law random field (spectral exponent about 3) thresholded to
a breast density from fatty to extremely dense, with faint linear structures.
Size, contrast and margin distributions of the classes overlap, and a share of
lesions looks like the other class (circumscribed carcinomas, spiculated benign
lesions such as radial scars), so that the task is not trivially separable.
Variants differ in population (density, size) and in scanner profile (response
curve, blur, noise); ``external`` is a shifted test site. Pure numpy + scipy.ndimage.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import ndimage
from scipy.special import ndtri

from bench.datasets.phantoms._texture import power_law_noise, scale_unit, smooth_field

FOV_RANGE_MM = (32.0, 96.0)
ATYPICAL = 0.02
_VARIANTS = {"private": 1, "public": 2, "external": 3}
_DENSITY_RANGES = ((0.03, 0.25), (0.25, 0.5), (0.5, 0.75), (0.75, 0.95))


@dataclass(frozen=True)
class MammoPhantoms:
    """A batch of mammography mass patches.

    Attributes:
        images: float32 (n, H, W) in [0, 1].
        labels: int64 (n,), 1 = malignant (the positive class), 0 = benign.
        variant: ``"public"``, ``"private"`` or ``"external"``.
    """

    images: np.ndarray
    labels: np.ndarray
    variant: str


@dataclass(frozen=True)
class _Site:
    """Population (BI-RADS density a-d probabilities, mass size) and scanner of one variant."""

    density: tuple[float, float, float, float]
    size_scale: float
    gamma: float
    noise: float
    psf_mm: float
    exposure: float


_SITES = {
    "private": _Site((0.10, 0.40, 0.40, 0.10), 1.0, 1.0, 0.012, 0.15, 0.10),
    "public": _Site((0.20, 0.45, 0.28, 0.07), 1.1, 0.8, 0.02, 0.25, 0.15),
    "external": _Site((0.15, 0.35, 0.35, 0.15), 0.95, 1.5, 0.035, 0.45, 0.25),
}


@dataclass(frozen=True)
class _Mass:
    """Appearance of one mass (lengths in mm)."""

    radius: float
    aspect: float
    orientation: float
    irregularity: float
    margin: float
    spicules: int
    contrast: float
    centre: tuple[float, float]
    fov: float


def make_mammo(
    n: int,
    variant: Literal["public", "private", "external"],
    size: int = 128,
    seed: int = 0,
) -> MammoPhantoms:
    """Generate ``n`` square mass patches of ``size`` pixels, centred on a mass.

    Like region-of-interest crops, a patch covers about 2.5 mass diameters (32-96 mm).

    Sample ``i`` depends only on ``(seed, variant, i, size)``, not on ``n``. Labels come
    in pairs: samples ``2k`` and ``2k + 1`` hold one benign and one malignant mass in
    a seeded order, so every even-length prefix is exactly balanced.

    Args:
        n: Number of patches, at least 1.
        variant: ``"private"``, ``"public"`` or ``"external"`` (shifted scanner profile).
        size: Patch side in pixels, at least 16.
        seed: Seed of the whole data set.

    Returns:
        A ``MammoPhantoms`` batch.

    Raises:
        ValueError: On an unknown variant, a bad ``n`` or a bad ``size``.

    Example:
        >>> data = make_mammo(4, "private", size=32)
        >>> data.images.shape, data.images.dtype.name, int(data.labels.sum())
        ((4, 32, 32), 'float32', 2)
    """
    _validate(n, variant, size)
    code = _VARIANTS[variant]
    images = np.empty((n, size, size), dtype=np.float32)
    labels = np.empty(n, dtype=np.int64)
    for i in range(n):
        labels[i] = _label(seed, code, i)
        rng = np.random.default_rng(np.random.SeedSequence([seed, code, i]))
        images[i] = _render(rng, bool(labels[i]), _SITES[variant], int(size))
    return MammoPhantoms(images, labels, variant)


def _validate(n: int, variant: str, size: int) -> None:
    if variant not in _VARIANTS:
        raise ValueError(f"unknown mammo variant {variant!r}; expected one of {list(_VARIANTS)}")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 16:
        raise ValueError(f"size must be an integer >= 16, got {size!r}")


def _label(seed: int, code: int, index: int) -> int:
    """One benign and one malignant per pair of indices, the order drawn per pair."""
    pair_rng = np.random.default_rng(np.random.SeedSequence([seed, code, index // 2, 2**31]))
    return int((index % 2) ^ pair_rng.integers(2))


def _render(rng: np.random.Generator, malignant: bool, site: _Site, size: int) -> np.ndarray:
    """Parenchyma plus mass (attenuation), then the site's acquisition."""
    mass = _sample_mass(rng, malignant, site)
    pixel = mass.fov / size
    coords = (np.arange(size) - (size - 1) / 2) * pixel
    x, y = coords[None, :], coords[:, None]
    tissue = _parenchyma(rng, site, x, y)
    layer = _mass_layer(rng, mass, x, y, pixel) + _spicules(rng, mass, size, pixel)
    return _acquire(rng, tissue + mass.contrast * layer, site, pixel)


def _sample_mass(rng: np.random.Generator, malignant: bool, site: _Site) -> _Mass:
    """Class-conditional appearance; a share ``ATYPICAL`` looks like the other class."""
    looks_malignant = malignant != (rng.random() < ATYPICAL)
    u = rng.random(8)
    median_mm = 15.0 if looks_malignant else 12.0
    diameter = np.clip(median_mm * site.size_scale * np.exp(0.45 * ndtri(u[0])), 5.0, 40.0)
    if looks_malignant:
        irregularity = rng.beta(3.5, 2.5)
        margin = 0.15 * diameter * np.exp(0.5 * ndtri(u[1]))
        spicules = int(rng.poisson(9) + 3) if u[2] < 0.9 else int(rng.poisson(1))
        contrast = 0.4 + 0.1 * ndtri(u[3])
    else:
        irregularity = rng.beta(1.2, 8.0)
        margin = 0.04 * diameter * np.exp(0.5 * ndtri(u[1]))
        spicules = int(rng.poisson(1)) if u[2] < 0.05 else 0
        contrast = 0.36 + 0.1 * ndtri(u[3])
    fov = np.clip(2.5 * diameter + rng.normal(0.0, 5.0), *FOV_RANGE_MM)
    shift = np.clip(rng.normal(0.0, 0.06 * fov, size=2), -0.15 * fov, 0.15 * fov)
    return _Mass(
        radius=float(diameter / 2),
        aspect=float(1.0 + 0.6 * u[4]),
        orientation=float(np.pi * u[5]),
        irregularity=float(irregularity),
        margin=float(np.clip(margin, 0.1, 4.0)),
        spicules=spicules,
        contrast=float(np.clip(contrast, 0.08, 0.7)),
        centre=(float(shift[0]), float(shift[1])),
        fov=float(fov),
    )


def _parenchyma(rng: np.random.Generator, site: _Site, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Fat (dark) and fibroglandular tissue (bright) from a 1/f**3 field, plus linear structures."""
    size = x.shape[1]
    category = rng.choice(4, p=site.density)
    density = rng.uniform(*_DENSITY_RANGES[category])
    field = power_law_noise(rng, (size, size), beta=rng.normal(3.0, 0.15))
    dense = 1 / (1 + np.exp(-(field - ndtri(1 - density)) / 0.6))
    tissue = 0.15 + 0.3 * dense
    for _ in range(rng.poisson(2)):
        angle, offset = rng.uniform(0, np.pi), rng.uniform(-0.4, 0.4) * x.max() * 2
        across = -np.sin(angle) * x + np.cos(angle) * y - offset
        tissue += rng.uniform(0.02, 0.06) * np.exp(-(across**2) / (2 * rng.uniform(0.2, 0.6) ** 2))
    return tissue


def _mass_layer(rng, mass: _Mass, x: np.ndarray, y: np.ndarray, pixel: float) -> np.ndarray:
    """Projected thickness of the mass body: an irregular star-shaped solid, blurred margin."""
    dx, dy = x - mass.centre[0], y - mass.centre[1]
    c, s = np.cos(mass.orientation), np.sin(mass.orientation)
    p, q = c * dx + s * dy, -s * dx + c * dy
    # The boundary radius is tabulated over angle once, then looked up per pixel.
    angles = np.linspace(-np.pi, np.pi, 361)
    k = np.arange(2, 13)[:, None]
    amps = mass.irregularity * 0.45 * rng.standard_normal(k.shape) / k**0.8
    phases = rng.uniform(0, 2 * np.pi, size=k.shape)
    wobble = np.clip(1 + np.sum(amps * np.cos(k * angles + phases), axis=0), 0.35, None)
    ellipse = 1 / np.sqrt(np.cos(angles) ** 2 / mass.aspect + np.sin(angles) ** 2 * mass.aspect)
    boundary = np.interp(np.arctan2(q, p), angles, mass.radius * ellipse * wobble)
    rho = np.hypot(p, q) / boundary
    body = np.sqrt(np.clip(1 - rho**2, 0, 1))
    return ndimage.gaussian_filter(body, mass.margin / pixel, mode="nearest")


def _spicules(rng, mass: _Mass, size: int, pixel: float) -> np.ndarray:
    """Thin tapering lines radiating from the mass boundary.

    Points along each line are splatted onto the grid and blurred, which is much
    faster than distances to every line; the weights make a line of width ``w``
    peak at its strength, diluted when it is thinner than the blur (partial volume).
    """
    canvas = np.zeros(size * size)
    if mass.spicules == 0:
        return canvas.reshape(size, size)
    shape = (mass.spicules, 1)
    angle = rng.uniform(0, 2 * np.pi, size=shape)
    start = mass.radius * rng.uniform(0.75, 0.95, size=shape)
    length = mass.radius * rng.uniform(0.5, 2.0, size=shape)
    width = rng.uniform(0.15, 0.5, size=shape) / pixel
    strength = rng.uniform(0.2, 0.55, size=shape)
    t = np.linspace(0.0, 1.0, 2 * size)[None, :]
    reach = start + t * length
    cols = np.rint((mass.centre[0] + reach * np.cos(angle)) / pixel + (size - 1) / 2)
    rows = np.rint((mass.centre[1] + reach * np.sin(angle)) / pixel + (size - 1) / 2)
    step = length / pixel / (2 * size - 1)
    weight = strength * step * np.sqrt(2 * np.pi) * width * (1 - t) ** 1.5
    inside = (cols >= 0) & (cols < size) & (rows >= 0) & (rows < size)
    flat = (rows * size + cols)[inside].astype(np.intp)
    canvas += np.bincount(flat, weights=weight[inside], minlength=size * size)
    blur = max(0.6, float(np.mean(width)))
    return ndimage.gaussian_filter(canvas.reshape(size, size), blur) / blur


def _acquire(rng, attenuation: np.ndarray, site: _Site, pixel: float) -> np.ndarray:
    """Exposure gradient, blur, response curve, noise and robust scaling to [0, 1]."""
    size = attenuation.shape[0]
    image = attenuation * (1 + site.exposure * smooth_field(rng, size, size))
    image = ndimage.gaussian_filter(image, site.psf_mm / pixel, mode="nearest")
    image = np.clip(image, 0, None) ** site.gamma
    image = image + rng.normal(0.0, site.noise, size=image.shape)
    return scale_unit(image, 99.5, lower_percentile=0.5)
