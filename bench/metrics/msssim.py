"""MS-SSIM between volumes, slice by slice: the diversity measure of study A.

The convention is study A's, exactly: ``pytorch_msssim.ms_ssim(X, Y, data_range=R)``
(Wang et al. 2003; the package study A's evaluation calls) on slices upsampled as study A's
``resize_for_ms_ssim`` does. Per scale, a Gaussian window of 11 taps, sigma 1.5, applied
without padding (the "valid" part of the image), K1 = 0.01, K2 = 0.03, population
(co)variances; the contrast term of each of the first four scales and the SSIM of the fifth
are averaged over the valid map, clipped at 0, and raised to the five standard weights
(0.0448, 0.2856, 0.3001, 0.2363, 0.1333), never renormalised; between scales a 2 x 2
average pool (a zero pad counted in the mean on an odd side, as torch's ``avg_pool2d``).

Five scales of an 11-tap window need a side above 160 pixels, so a smaller slice is first
upsampled bilinearly (half-pixel centres, as torchvision's ``Resize``) by the smallest power
of two that takes it above 160 (study A: 96 -> 192). Study A's rule ``2^ceil(log2(160/H))``
gives exactly 160 for H = 40, 80 or 160, which its own ``ms_ssim`` then refuses; here the
factor is the smallest that works. Float64 throughout (pytorch_msssim builds its window in
float32, so the two agree to about 1e-7).

A low mean MS-SSIM between pairs of generated volumes means diverse samples; the same figure
on real volumes is the reference (a collapsed generator scores high, pure noise scores low).

Example:
    >>> rng = np.random.default_rng(0)
    >>> a = rng.random((2, 3, 32, 32))
    >>> ms_ssim_volumes(a, a).round(6).tolist(), upsampling_factor(32), upsampling_factor(96)
    ([1.0, 1.0], 8, 2)
"""

from __future__ import annotations

import numpy as np

WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)  # Wang et al. 2003, as pytorch_msssim
WINDOW, WINDOW_SIGMA = 11, 1.5
#: Five scales of an 11-tap window need a side above (11 - 1) * 2^4 pixels.
MIN_SIDE = (WINDOW - 1) * 2 ** (len(WEIGHTS) - 1)


def upsampling_factor(side: int) -> int:
    """The smallest power of two that takes ``side`` above :data:`MIN_SIDE` (1 if it is)."""
    factor = 1
    while side * factor <= MIN_SIDE:
        factor *= 2
    return factor


def _upsample_axis(img: np.ndarray, factor: int, axis: int) -> np.ndarray:
    """Bilinear upsampling along ``axis`` with half-pixel centres (torch, align_corners=False)."""
    n = img.shape[axis]
    src = np.maximum((np.arange(n * factor) + 0.5) / factor - 0.5, 0.0)
    lo = np.floor(src).astype(int)
    hi = np.minimum(lo + 1, n - 1)
    weight = (src - lo).reshape([-1 if a == axis % img.ndim else 1 for a in range(img.ndim)])
    return np.take(img, lo, axis=axis) * (1 - weight) + np.take(img, hi, axis=axis) * weight


def _window() -> np.ndarray:
    coords = np.arange(WINDOW, dtype=np.float64) - WINDOW // 2
    g = np.exp(-(coords**2) / (2 * WINDOW_SIGMA**2))
    return g / g.sum()


def _blur(img: np.ndarray) -> np.ndarray:
    """Separable Gaussian over the last two axes, valid part only (no padding)."""
    from numpy.lib.stride_tricks import sliding_window_view

    g = _window()
    rows = sliding_window_view(img, WINDOW, axis=-2) @ g
    return sliding_window_view(rows, WINDOW, axis=-1) @ g


def _ssim_and_cs(x: np.ndarray, y: np.ndarray, data_range: float):
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    mx, my = _blur(x), _blur(y)
    vx, vy = _blur(x * x) - mx**2, _blur(y * y) - my**2
    cxy = _blur(x * y) - mx * my
    cs_map = (2 * cxy + c2) / (vx + vy + c2)
    ssim_map = (2 * mx * my + c1) / (mx**2 + my**2 + c1) * cs_map
    return ssim_map.mean(axis=(-2, -1)), cs_map.mean(axis=(-2, -1))


def _pool(img: np.ndarray) -> np.ndarray:
    """2 x 2 average pool, stride 2; an odd side gets a zero on each end, counted (torch)."""
    pads = [(0, 0)] * (img.ndim - 2) + [(s % 2, s % 2) for s in img.shape[-2:]]
    img = np.pad(img, pads)
    rows, cols = img.shape[-2] // 2 * 2, img.shape[-1] // 2 * 2
    img = img[..., :rows, :cols]
    return 0.25 * (img[..., 0::2, 0::2] + img[..., 1::2, 0::2] + img[..., 0::2, 1::2]
                   + img[..., 1::2, 1::2])  # fmt: skip


def ms_ssim_2d(x: np.ndarray, y: np.ndarray, data_range: float = 1.0) -> np.ndarray:
    """MS-SSIM of image pairs (..., H, W) with a side above 160 -> (...,), float64."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    if x.shape != y.shape or x.ndim < 2 or min(x.shape[-2:]) <= MIN_SIDE:
        raise ValueError(f"need two (..., H, W) arrays of one shape, sides > {MIN_SIDE}")
    factors = []
    for level in range(len(WEIGHTS)):
        ssim, cs = _ssim_and_cs(x, y, data_range)
        if level < len(WEIGHTS) - 1:
            factors.append(np.maximum(cs, 0.0))
            x, y = _pool(x), _pool(y)
    factors.append(np.maximum(ssim, 0.0))
    return np.prod([f**w for f, w in zip(factors, WEIGHTS, strict=True)], axis=0)


#: Upsampled voxels per array of one chunk of pairs (float64: 8 MB). A pair's MS-SSIM
#: depends on that pair alone, so chunks change no number; all 300 pairs of a cardiac-ldm
#: cell at once (8 x 32 x 32 slices upsampled 8x, a dozen float64 temporaries) took 12 GB.
CHUNK_VOXELS = 2**20


def ms_ssim_volumes(a: np.ndarray, b: np.ndarray, data_range: float = 1.0) -> np.ndarray:
    """Mean slice-wise MS-SSIM of each pair of volumes (n, D, H, W) -> (n,) float64.

    Pairs are scored a chunk at a time (:data:`CHUNK_VOXELS`), so memory stays bounded
    whatever n is."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.shape != b.shape or a.ndim != 4:
        raise ValueError(f"need two (n, D, H, W) arrays of one shape, got {a.shape}, {b.shape}")
    factor = upsampling_factor(min(a.shape[-2:]))
    per_pair = a.shape[1] * a.shape[2] * a.shape[3] * factor**2
    step = max(1, CHUNK_VOXELS // per_pair)
    scores = np.empty(len(a))
    for start in range(0, len(a), step):
        x, y = a[start : start + step], b[start : start + step]
        if factor > 1:
            x, y = (_upsample_axis(_upsample_axis(v, factor, -2), factor, -1) for v in (x, y))
        scores[start : start + step] = ms_ssim_2d(x, y, data_range).mean(axis=1)
    return scores


def pairwise_ms_ssim(volumes: np.ndarray, partners: np.ndarray) -> float:
    """Mean MS-SSIM of volume ``i`` and volume ``partners[i]`` over all ``i``."""
    return float(ms_ssim_volumes(volumes, volumes[partners]).mean())
