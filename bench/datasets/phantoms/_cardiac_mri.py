"""Image formation of the cardiac phantoms: SSFP-like signals of the anatomy and its
surroundings (fat, muscle, lungs, liver, chest wall, great vessels), then the scanner's
blur, bias field and Rician noise. The anatomy itself comes from :mod:`.cardiac`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy import ndimage

from bench.datasets.phantoms._texture import power_law_noise, scale_unit, smooth_field

if TYPE_CHECKING:
    from bench.datasets.phantoms.cardiac import _Frame as Frame


@dataclass(frozen=True)
class Scanner:
    """Relative tissue signals (blood = 1) and acquisition of one scanner profile."""

    myocardium: tuple[float, float]
    fat: float
    muscle: float
    noise: tuple[float, float]
    bias: float
    coil: tuple[float, float]
    psf_mm: float


# Signals follow SSFP contrast (T2/T1 weighting): fat and blood bright, myocardium and
# skeletal muscle dark, lungs black. ``coil`` is the anterior surface-coil gain range.
SCANNERS = {
    "private": Scanner((0.30, 0.40), 1.3, 0.28, (0.015, 0.035), 0.20, (0.4, 0.8), 1.2),
    "public": Scanner((0.38, 0.48), 1.0, 0.32, (0.035, 0.07), 0.45, (0.0, 0.8), 1.6),
}


class Scene:
    """Subject-level randomness of the surroundings and of the scan (shared by ED and ES)."""

    def __init__(self, rng: np.random.Generator, scanner: Scanner, shape):
        self.scanner = scanner
        self.texture = power_law_noise(rng, shape, beta=2.5)
        self.lungs = power_law_noise(rng, shape, beta=3.5)
        self.bias = smooth_field(rng, shape[1], shape[2])
        self.slice_gain = 1 + rng.normal(0, 0.03, size=shape[0])
        self.myocardium = rng.uniform(*scanner.myocardium)
        self.noise = rng.uniform(*scanner.noise)
        self.coil = rng.uniform(*scanner.coil)
        self.chest = rng.uniform(60.0, 85.0)
        self.wall = (rng.uniform(8.0, 18.0), rng.uniform(4.0, 15.0))
        self.lung_shift = rng.normal(0.0, 8.0, size=2)


def paint(scene: Scene, anatomy: dict, frame: Frame, coords) -> np.ndarray:
    """Noise-free SSFP-like signal: background first, then the heart's layers on top."""
    sc = scene.scanner
    image = _background(scene, frame, coords)
    blood = 1.0 + 0.04 * scene.texture
    layers = (
        ("fat", sc.fat * (1 + 0.08 * scene.texture)),
        ("pericardium", 0.1),
        ("myocardium", scene.myocardium),
        ("rv_wall", scene.myocardium),
        ("rv", 0.95 * blood),
        ("cavity", blood),
        ("papillary", scene.myocardium * 1.1),
    )
    for name, value in layers:
        image = np.where(anatomy[name], value, image)
    return image * np.exp(scene.coil * np.clip(coords[1] / 90.0, -1.0, 1.0))


def _ellipse(ux, uy, centre, semi) -> np.ndarray:
    return ((ux - centre[0]) / semi[0]) ** 2 + ((uy - centre[1]) / semi[1]) ** 2


def _background(scene: Scene, frame: Frame, coords) -> np.ndarray:
    """Mixed fat and muscle, lungs, chest wall, liver, descending aorta, atria above the base."""
    ux, uy = coords
    sc = scene.scanner
    fat_share = 1 / (1 + np.exp(-(scene.texture - 1.4) / 0.2))
    image = sc.muscle * (1 + 0.2 * scene.texture) * (1 - fat_share) + 0.7 * sc.fat * fat_share
    z = np.arange(ux.shape[0])[:, None, None]
    liver = np.clip((z - frame.apex + 2.5) / 3.0, 0.05, 1.0)
    image = np.where(_ellipse(ux, uy, (-45, -80), (85 * liver, 55 * liver)) < 1, 0.4, image)
    lx, ly = scene.lung_shift
    lungs = np.minimum(
        _ellipse(ux, uy, (80 + lx, 0 + ly), (45, 80)),
        _ellipse(ux, uy, (-95 + lx, 15 + ly), (45, 75)),
    )
    image = np.where(lungs + 0.25 * scene.lungs < 1, 0.03 * (1 + 0.5 * scene.lungs.clip(0)), image)
    image = _chest_wall(scene, ux, uy, image)
    image = np.where(_ellipse(ux, uy, (28, -62), (11, 11)) < 1, 0.9, image)
    above = z < frame.first
    image = np.where(above & (_ellipse(ux, uy, (8, -22), (30, 20)) < 1), 0.9, image)
    return np.where(above & (_ellipse(ux, uy, (-10, 8), (14, 14)) < 1), 0.95, image)


def _chest_wall(scene: Scene, ux, uy, image) -> np.ndarray:
    """Anterior chest wall: muscle, then subcutaneous fat, then air outside the body."""
    sc, (muscle_mm, fat_mm) = scene.scanner, scene.wall
    centre, semi = (0.0, scene.chest - 140.0), np.array([200.0, 140.0])
    inner = _ellipse(ux, uy, centre, semi - muscle_mm - fat_mm) >= 1
    fat = _ellipse(ux, uy, centre, semi - fat_mm) >= 1
    outside = _ellipse(ux, uy, centre, semi) >= 1
    anterior = uy > 0
    image = np.where(anterior & inner, sc.muscle * (1 + 0.1 * scene.texture), image)
    image = np.where(anterior & fat, sc.fat * (1 + 0.05 * scene.texture), image)
    return np.where(anterior & outside, 0.0, image)


def acquire(scene: Scene, image: np.ndarray, spacing, rng: np.random.Generator) -> np.ndarray:
    """In-plane blur, multiplicative bias field, Rician noise, robust scaling to [0, 1]."""
    sc = scene.scanner
    sigma = (0.0, sc.psf_mm / spacing[1], sc.psf_mm / spacing[2])
    image = ndimage.gaussian_filter(image, sigma, mode="nearest")
    image = image * np.exp(sc.bias * scene.bias)[None] * scene.slice_gain[:, None, None]
    noise = rng.normal(0.0, scene.noise, size=(2, *image.shape))
    image = np.hypot(image + noise[0], noise[1])
    return scale_unit(image, 99.5)
