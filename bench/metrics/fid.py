"""Frechet distance between feature distributions (FID), in float64.

FID = ||mu_1 - mu_2||^2 + tr(S_1) + tr(S_2) - 2 tr((S_1 S_2)^(1/2)) (Heusel et al. 2017).
The trace of the matrix square root is computed from the symmetric form
tr((S_1 S_2)^(1/2)) = sum_i sqrt(lambda_i(S_1^(1/2) S_2 S_1^(1/2))), whose eigenvalues are
real and non-negative for covariance matrices, so no complex parts need discarding (the
usual ``scipy.linalg.sqrtm`` route). It equals the ``sqrtm`` route on well-conditioned
cases (tested). Features come from a registered extractor
(:mod:`bench.metrics.extractors`) whose name and weights hash go into the record.

Example:
    >>> import numpy as np
    >>> s = np.eye(3)
    >>> frechet_distance(np.zeros(3), s, np.zeros(3), s)
    0.0
    >>> frechet_distance(np.zeros(3), s, np.array([1.0, 2.0, 2.0]), s)  # mean shift only
    9.0
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class GaussianStats:
    """Mean and covariance (float64) of a set of feature vectors."""

    mean: np.ndarray
    cov: np.ndarray
    count: int

    @classmethod
    def of(cls, features: np.ndarray) -> GaussianStats:
        """Statistics of (n, d) features; the covariance is unbiased (ddof = 1) as usual."""
        f = np.asarray(features, dtype=np.float64)
        if f.ndim != 2 or len(f) < 2:
            raise ValueError(f"need (n >= 2, d) features, got shape {f.shape}")
        return cls(f.mean(axis=0), np.cov(f, rowvar=False, ddof=1).reshape(f.shape[1], -1), len(f))


def _sqrt_psd(matrix: np.ndarray) -> np.ndarray:
    """Symmetric square root of a symmetric positive semi-definite matrix."""
    values, vectors = np.linalg.eigh((matrix + matrix.T) / 2)
    return (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T


def trace_sqrt_product(cov_1: np.ndarray, cov_2: np.ndarray) -> float:
    """tr((S_1 S_2)^(1/2)) for covariance matrices S_1, S_2."""
    root = _sqrt_psd(np.asarray(cov_1, np.float64))
    middle = root @ np.asarray(cov_2, np.float64) @ root
    values = np.linalg.eigvalsh((middle + middle.T) / 2)
    return float(np.sum(np.sqrt(np.clip(values, 0, None))))


def frechet_distance(
    mean_1: np.ndarray, cov_1: np.ndarray, mean_2: np.ndarray, cov_2: np.ndarray
) -> float:
    """Squared Frechet (2-Wasserstein) distance between two Gaussians."""
    m1, m2 = np.asarray(mean_1, np.float64), np.asarray(mean_2, np.float64)
    c1, c2 = np.asarray(cov_1, np.float64), np.asarray(cov_2, np.float64)
    if m1.shape != m2.shape or c1.shape != c2.shape or c1.shape != (m1.size, m1.size):
        raise ValueError(
            f"shape mismatch: means {m1.shape}, {m2.shape}; covs {c1.shape}, {c2.shape}"
        )
    value = float(np.sum((m1 - m2) ** 2) + np.trace(c1) + np.trace(c2))
    return max(value - 2 * trace_sqrt_product(c1, c2), 0.0)


def fid(features_1: np.ndarray, features_2: np.ndarray) -> float:
    """FID between two sets of feature vectors (n_1, d) and (n_2, d)."""
    a, b = GaussianStats.of(features_1), GaussianStats.of(features_2)
    return frechet_distance(a.mean, a.cov, b.mean, b.cov)
