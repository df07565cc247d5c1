"""MS-SSIM between volumes, slice by slice: the diversity measure of study A.

MS-SSIM (Wang et al. 2003) needs images larger than the Gaussian window at its
coarsest scale; short-axis stacks have few, thick slices, so volumes are compared slice
by slice in 2D (matching the in-plane design of the models) with MONAI's
``compute_ms_ssim`` and as many of the standard five scales as the slice size allows
(their weights renormalised), then averaged over slices. A low mean MS-SSIM between
pairs of generated volumes means diverse samples; the same figure on real volumes is
the reference (a collapsed generator scores high, pure noise scores low).

Example:
    >>> rng = np.random.default_rng(0)
    >>> a = rng.random((2, 3, 32, 32))
    >>> ms_ssim_volumes(a, a).round(6).tolist(), scales_for(32), scales_for(96)
    ([1.0, 1.0], 3, 4)
"""

from __future__ import annotations

import numpy as np

WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)  # Wang et al. 2003, as MONAI
KERNEL = 7


def scales_for(size: int, kernel: int = KERNEL) -> int:
    """The number of scales MONAI accepts for square slices of side ``size`` (at least 1)."""
    import torch
    from monai.metrics.regression import compute_ms_ssim

    probe = torch.zeros(1, 1, size, size)
    for count in range(len(WEIGHTS), 1, -1):
        try:
            compute_ms_ssim(probe, probe, spatial_dims=2, kernel_size=kernel,
                            weights=WEIGHTS[:count])  # fmt: skip
            return count
        except ValueError:
            continue
    return 1


def ms_ssim_volumes(a: np.ndarray, b: np.ndarray, data_range: float = 1.0) -> np.ndarray:
    """Mean slice-wise MS-SSIM of each pair of volumes (n, D, H, W) -> (n,) float64."""
    import torch
    from monai.metrics.regression import compute_ms_ssim

    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.shape != b.shape or a.ndim != 4:
        raise ValueError(f"need two (n, D, H, W) arrays of one shape, got {a.shape}, {b.shape}")
    n, depth, rows, cols = a.shape
    count = scales_for(min(rows, cols))
    weights = np.asarray(WEIGHTS[:count]) / np.sum(WEIGHTS[:count])
    x = torch.as_tensor(a.reshape(-1, 1, rows, cols))
    y = torch.as_tensor(b.reshape(-1, 1, rows, cols))
    kernel = KERNEL if count > 1 else min(KERNEL, min(rows, cols) // 2 * 2 - 1)
    value = compute_ms_ssim(x, y, spatial_dims=2, data_range=data_range, kernel_size=kernel,
                            weights=tuple(weights))  # fmt: skip
    return value.double().numpy().reshape(n, depth).mean(axis=1)


def pairwise_ms_ssim(volumes: np.ndarray, partners: np.ndarray) -> float:
    """Mean MS-SSIM of volume ``i`` and volume ``partners[i]`` over all ``i``."""
    return float(ms_ssim_volumes(volumes, volumes[partners]).mean())
