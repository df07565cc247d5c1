"""FID: the suite's float64 FID from features, and scipy's matrix square root beside it.

The suite's FID (``bench.metrics.fid``) must equal the ``scipy.linalg.sqrtm`` route on
known cases, so scipy's time is the reference. The suite's function is looked up by the
name below and skipped (not failed) if a checkout lacks it.
"""

from __future__ import annotations

import importlib

import numpy as np
from scipy.linalg import sqrtm

SUITE_FID = "bench.metrics.fid:fid"  # (features_a, features_b) -> float


def _features(dim: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.standard_normal((4 * dim, dim)) @ rng.standard_normal((dim, dim)) / np.sqrt(dim)


class TimeFID:
    params = ([64, 512],)
    param_names = ("feature_dim",)

    def setup(self, dim: int) -> None:
        self.a, self.b = _features(dim, 0), _features(dim, 1)
        self.cov = np.cov(self.a, rowvar=False) @ np.cov(self.b, rowvar=False)

    def time_sqrtm_scipy(self, dim: int) -> None:
        sqrtm(self.cov)


class TimeSuiteFID:
    params = ([64, 512],)
    param_names = ("feature_dim",)

    def setup(self, dim: int) -> None:
        module, _, name = SUITE_FID.partition(":")
        try:  # NotImplementedError in setup: asv skips the benchmark
            self.fid = getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError):
            raise NotImplementedError(f"{SUITE_FID} is not there yet") from None
        self.a, self.b = _features(dim, 0), _features(dim, 1)

    def time_fid(self, dim: int) -> None:
        self.fid(self.a, self.b)
