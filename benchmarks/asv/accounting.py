"""Accounting: the epsilon of a mechanism, the calibration of sigma, and the leaderboard's
recomputation of a record's epsilon."""

from __future__ import annotations

from bench.privacy.accounting import compute_epsilon, solve_sigma
from bench.privacy.budget import PrivacyBudget

SCHEDULES = {"q=1,T=1": (1.0, 1), "q=0.01,T=10000": (0.01, 10_000)}


class TimeEpsilon:
    """Epsilon of (sigma = 1, q, T) at delta = 1e-5 (every record's cross-check pays this)."""

    params = (["rdp", "prv"], list(SCHEDULES))
    param_names = ("accountant", "schedule")

    def time_compute_epsilon(self, accountant: str, schedule: str) -> None:
        q, steps = SCHEDULES[schedule]
        compute_epsilon(1.0, q, steps, 1e-5, accountant)


class TimeCalibration:
    """The uncached bisection for sigma at a target epsilon of 8 (cached in real runs)."""

    params = (["rdp", "prv"],)
    param_names = ("accountant",)
    timeout = 300

    def time_solve_sigma(self, accountant: str) -> None:
        solve_sigma(PrivacyBudget(8.0, 1e-5, accountant), 0.01, 1000)
