"""Texture helpers shared by the cardiac and mammography phantoms (numpy only).

Power-law (1/f**beta) random fields model anatomical background texture; a smooth
random polynomial models slowly varying gain (MR coil bias field, mammographic
exposure gradient); ``scale_unit`` maps an image to [0, 1] robustly.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np


@lru_cache(maxsize=32)
def _frequency(rows: int, cols: int) -> np.ndarray:
    """Radial frequency on the rfft grid of a (rows, cols) image, infinite at DC."""
    freq = np.hypot(np.fft.fftfreq(rows)[:, None], np.fft.rfftfreq(cols)[None, :])
    freq[0, 0] = np.inf
    freq.flags.writeable = False
    return freq


def power_law_noise(rng: np.random.Generator, shape: tuple[int, ...], beta: float) -> np.ndarray:
    """Random 2D field(s) whose power spectrum falls as ``1 / f**beta``.

    The spectrum acts on the last two axes; leading axes hold independent fields.
    Each field is standardised to zero mean and unit standard deviation.

    Args:
        rng: Source of randomness.
        shape: Output shape, at least 2D; the last two axes are the image plane.
        beta: Spectral exponent (about 3 for mammographic parenchyma).

    Returns:
        A float64 array of ``shape``.

    Example:
        >>> field = power_law_noise(np.random.default_rng(0), (2, 32, 32), beta=3.0)
        >>> field.shape, bool(np.allclose(field.std(axis=(1, 2)), 1.0))
        ((2, 32, 32), True)
    """
    rows, cols = shape[-2:]
    amplitude = _frequency(rows, cols) ** (-beta / 2.0)
    spec_shape = (*shape[:-1], cols // 2 + 1)
    spectrum = amplitude * (rng.standard_normal(spec_shape) + 1j * rng.standard_normal(spec_shape))
    field = np.fft.irfft2(spectrum, s=(rows, cols))
    field -= field.mean(axis=(-2, -1), keepdims=True)
    field /= field.std(axis=(-2, -1), keepdims=True) + 1e-12
    return field


def smooth_field(rng: np.random.Generator, rows: int, cols: int) -> np.ndarray:
    """Smooth random second-order polynomial on [-1, 1]^2, scaled to a maximum of 1 in magnitude.

    Args:
        rng: Source of randomness.
        rows: Image height.
        cols: Image width.

    Returns:
        A float64 (rows, cols) array with ``max(abs(field)) == 1``.

    Example:
        >>> field = smooth_field(np.random.default_rng(0), 8, 8)
        >>> field.shape, round(float(np.abs(field).max()), 6)
        ((8, 8), 1.0)
    """
    y = np.linspace(-1.0, 1.0, rows)[:, None]
    x = np.linspace(-1.0, 1.0, cols)[None, :]
    c = rng.standard_normal(5) * np.array([1.0, 1.0, 0.5, 0.5, 0.5])
    field = c[0] * x + c[1] * y + c[2] * x * x + c[3] * x * y + c[4] * y * y
    field = field - field.mean()
    return field / (np.abs(field).max() + 1e-12)


def scale_unit(
    image: np.ndarray, upper_percentile: float = 99.5, lower_percentile: float | None = None
) -> np.ndarray:
    """Map ``image`` to [0, 1]: its minimum (or a lower percentile) to 0, a percentile to 1.

    A percentile instead of the maximum keeps a few noise or fat outliers from
    compressing the useful range (as robust MR normalisation does).

    Args:
        image: Any real array.
        upper_percentile: Percentile mapped to 1.
        lower_percentile: Percentile mapped to 0; ``None`` maps the minimum to 0.

    Returns:
        A float32 array of the same shape, in [0, 1].

    Example:
        >>> scale_unit(np.array([1.0, 2.0, 3.0, 5.0, 9.0]), upper_percentile=75.0).tolist()
        [0.0, 0.25, 0.5, 1.0, 1.0]
    """
    if lower_percentile is None:
        low, high = float(image.min()), float(np.percentile(image, upper_percentile))
    else:
        low, high = (float(v) for v in np.percentile(image, [lower_percentile, upper_percentile]))
    if high <= low:
        return np.zeros(image.shape, dtype=np.float32)
    return np.clip((image - low) / (high - low), 0.0, 1.0).astype(np.float32)
