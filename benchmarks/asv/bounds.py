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


SETTINGS = {  # (kappa, sigma, q, T)
    "q=0.1,T=50": (0.1, 2.96875, 0.1, 50),
    "q=0.0125,T=948": (1 / 76, 1.1056, 0.0125, 948),
    "q=0.01,T=10000": (0.1, 1.0, 0.01, 10_000),
}


class TimeSubsampledRero:
    """The subsampled ReRo of a risk block: the PLD bound (used) against its Monte Carlo
    cross-check, at the settings of the committed boards and a long run."""

    params = (list(SETTINGS),)
    param_names = ("schedule",)

    def time_pld_bound(self, schedule: str) -> None:
        from bench.privacy.bounds.pld import rero_subsampled_pld

        rero_subsampled_pld(*SETTINGS[schedule])

    def time_monte_carlo(self, schedule: str) -> None:
        if schedule == "q=0.01,T=10000":
            raise NotImplementedError("minutes: the reason the PLD bound replaced it")
        rero.rero_subsampled_mc(*SETTINGS[schedule], n_samples=200_000)
