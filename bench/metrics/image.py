"""Per-image reconstruction metrics in float64 (numpy): MSE, PSNR and SSIM.

Example:
    >>> import numpy as np
    >>> x = np.zeros((8, 8)); y = np.full((8, 8), 0.1)
    >>> round(float(mse(x, y)), 6), round(float(psnr(x, y)), 3)
    (0.01, 20.0)
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter


def mse(reference: np.ndarray, estimate: np.ndarray) -> np.ndarray:
    """Mean squared error over all but the first axis when batched, else over all."""
    ref, est = np.asarray(reference, np.float64), np.asarray(estimate, np.float64)
    return np.mean((ref - est) ** 2, axis=tuple(range(1, ref.ndim)) if ref.ndim > 2 else None)


def psnr(reference: np.ndarray, estimate: np.ndarray, data_range: float = 1.0) -> np.ndarray:
    """Peak signal-to-noise ratio in dB: 10 log10(R^2 / MSE); +inf for a perfect match."""
    with np.errstate(divide="ignore"):
        return 10.0 * np.log10(data_range**2 / mse(reference, estimate))


#: The Gaussian window of Wang et al. 2004: sigma 1.5 truncated at 3.5 sigma, 11 taps.
SSIM_SIGMA = 1.5
SSIM_TRUNCATE = 3.5
SSIM_WINDOW = 2 * int(SSIM_TRUNCATE * SSIM_SIGMA + 0.5) + 1


def ssim(reference: np.ndarray, estimate: np.ndarray, data_range: float = 1.0) -> float:
    """Structural similarity of two 2D images, exactly scikit-image's reported value.

    The convention is scikit-image's ``structural_similarity(reference, estimate,
    data_range=R, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
    win_size=w)``, the settings its documentation gives to match Wang et al. 2004: constants
    K1 = 0.01, K2 = 0.03, a Gaussian window of sigma 1.5 truncated at 3.5 sigma (reflected
    at the border), population (co)variances, and the mean of the similarity map over the
    interior, a border of (w - 1) / 2 pixels cropped. w is 11 (the window's width), or the
    largest odd number that fits an image smaller than 11 pixels (scikit-image refuses a
    window wider than the image).

    Example:
        >>> rng = np.random.default_rng(0)
        >>> x = rng.random((16, 16))
        >>> ssim(x, x), round(ssim(x, np.clip(x + 0.2 * rng.standard_normal(x.shape), 0, 1)), 4)
        (1.0, 0.8502)
    """
    x, y = np.asarray(reference, np.float64), np.asarray(estimate, np.float64)
    if x.ndim != 2 or x.shape != y.shape:
        raise ValueError(f"ssim needs two 2D images of equal shape, got {x.shape}, {y.shape}")
    if min(x.shape) < 3:
        raise ValueError(f"ssim needs images of at least 3 x 3 pixels, got {x.shape}")
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2

    def blur(img: np.ndarray) -> np.ndarray:
        return gaussian_filter(img, SSIM_SIGMA, mode="reflect", truncate=SSIM_TRUNCATE)

    mx, my = blur(x), blur(y)
    vx, vy, cxy = blur(x * x) - mx**2, blur(y * y) - my**2, blur(x * y) - mx * my
    num = (2 * mx * my + c1) * (2 * cxy + c2)
    den = (mx**2 + my**2 + c1) * (vx + vy + c2)
    side = min(x.shape)
    window = min(SSIM_WINDOW, side if side % 2 else side - 1)
    pad = (window - 1) // 2
    interior = (num / den)[pad : x.shape[0] - pad, pad : x.shape[1] - pad]
    return float(np.mean(interior, dtype=np.float64))
