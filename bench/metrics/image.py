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


def ssim(
    reference: np.ndarray, estimate: np.ndarray, data_range: float = 1.0, sigma: float = 1.5
) -> float:
    """Structural similarity of two 2D images (Wang et al. 2004, Gaussian window).

    Uses the standard constants K1 = 0.01, K2 = 0.03 and a Gaussian window of width
    ``sigma`` truncated at 3.5 sigma, as scikit-image with ``gaussian_weights=True``.
    """
    x, y = np.asarray(reference, np.float64), np.asarray(estimate, np.float64)
    if x.ndim != 2 or x.shape != y.shape:
        raise ValueError(f"ssim needs two 2D images of equal shape, got {x.shape}, {y.shape}")
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2

    def blur(img: np.ndarray) -> np.ndarray:
        return gaussian_filter(img, sigma, mode="reflect", truncate=3.5)

    mx, my = blur(x), blur(y)
    vx, vy, cxy = blur(x * x) - mx**2, blur(y * y) - my**2, blur(x * y) - mx * my
    num = (2 * mx * my + c1) * (2 * cxy + c2)
    den = (mx**2 + my**2 + c1) * (vx + vy + c2)
    return float(np.mean(num / den))
