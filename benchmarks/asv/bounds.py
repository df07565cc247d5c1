"""The reconstruction-risk bounds, vectorised over 10^5 (eta, sigma) points."""

from __future__ import annotations

import numpy as np

from bench.privacy.bounds import prior_free as bounds
from bench.privacy.bounds import rero

POINTS = 100_000


class TimeBounds:
    def setup(self) -> None:
        rng = np.random.default_rng(0)
        self.eta = rng.uniform(0.01, 1, POINTS)
        self.sigma = rng.uniform(0.1, 5, POINTS)

    def time_mse_success_bound(self) -> None:
        bounds.mse_success_bound(self.eta, self.sigma, 1024, 1.0)

    def time_rero_gdp(self) -> None:
        rero.rero_gdp(0.1, 1 / self.sigma)

    def time_gdp_delta(self) -> None:
        bounds.gdp_delta(self.eta * 10, 1 / self.sigma)

    def time_mse_success_bound_subsampled(self) -> None:
        bounds.mse_success_bound_subsampled(
            self.eta[:1000], self.sigma[:1000], 1024, 1.0, 0.01, 1000
        )
