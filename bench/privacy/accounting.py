"""Accounting for the Poisson-subsampled Gaussian mechanism (opacus accountants).

The reported guarantee comes from ``prv`` (tight numerical composition) or ``rdp``;
the other accountant gives an independent cross-check. opacus's GDP accountant is a
CLT approximation that under-reports epsilon, so it is never used here.

Calibration (the smallest noise multiplier whose epsilon stays below a target) is a
bisection over many accountant calls and takes seconds with PRV, so results are cached
in the user cache directory, keyed by every input.

Example:
    >>> round(compute_epsilon(1.5, 0.04, 2250, 1e-5, "rdp"), 4)  # opacus's own figure
    7.3291
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

from bench.cache import cache_dir, write_json_atomic
from bench.errors import BenchError
from bench.privacy.budget import ACCOUNTANTS, PrivacyBudget

#: A mechanism run: (noise multiplier, sample rate, steps), as in opacus's history.
Run = tuple[float, float, int]

CALIBRATION_TOLERANCE = 0.01  # epsilon units; the calibrated epsilon lies in [target - tol, target]


@contextlib.contextmanager
def quiet_accountant():
    """Silence two harmless opacus warnings that would flood the progress output.

    PRV at q = 1 takes log(1 - q) = -inf on a branch that is masked out anyway, and RDP
    notes when its optimal order is at the edge of the orders tried (its epsilon is then a valid
    but looser upper bound; PRV is the reported guarantee).
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        warnings.filterwarnings("ignore", message="Optimal order is the (largest|smallest) alpha")
        yield


def other_accountant(accountant: str) -> str:
    """The accountant used as cross-check for ``accountant``."""
    return "rdp" if accountant == "prv" else "prv"


def _make_accountant(name: str):
    from opacus.accountants import PRVAccountant, RDPAccountant

    if name not in ACCOUNTANTS:
        raise BenchError(f"unknown accountant {name!r} (known: {', '.join(ACCOUNTANTS)})")
    return PRVAccountant() if name == "prv" else RDPAccountant()


def make_accountant(name: str):
    """A fresh opacus accountant, to attach to a DP optimizer and read back after training."""
    return _make_accountant(name)


def epsilon_of_history(history: Sequence[Run], delta: float, accountant: str) -> float:
    """Epsilon of a composition of subsampled Gaussian runs (e.g. GAN then classifier)."""
    if not history:
        return 0.0
    if any(sigma <= 0 for sigma, _, _ in history):
        return math.inf
    acc = _make_accountant(accountant)
    acc.history = [(float(s), float(q), int(t)) for s, q, t in history]
    with quiet_accountant():
        return float(acc.get_epsilon(delta=delta))


def compute_epsilon(
    sigma: float, sample_rate: float, steps: int, delta: float, accountant: str = "prv"
) -> float:
    """Epsilon of ``steps`` Poisson-subsampled Gaussian steps at noise multiplier ``sigma``."""
    check_mechanism(sigma, sample_rate, steps, delta)
    return epsilon_of_history([(sigma, sample_rate, steps)], delta, accountant)


def check_mechanism(sigma: float, sample_rate: float, steps: int, delta: float) -> None:
    """Raise a :class:`BenchError` naming the first invalid parameter."""
    if not (sigma >= 0):
        raise BenchError(f"noise multiplier (sigma) must be >= 0, got {sigma}")
    if not (0 < sample_rate <= 1):
        raise BenchError(f"sample rate must be in (0, 1], got {sample_rate}")
    if steps < 1:
        raise BenchError(f"steps must be >= 1, got {steps}")
    if not (0 < delta < 1):
        raise BenchError(f"delta must be in (0, 1), got {delta}")


@dataclass(frozen=True)
class Calibration:
    """A noise multiplier calibrated to a target budget.

    Attributes:
        sigma: the noise multiplier (0 for the non-private baseline).
        epsilon: the epsilon of ``sigma`` by the budget's accountant (<= target).
        cross_check_epsilon: the epsilon of ``sigma`` by the other accountant.
    """

    budget: PrivacyBudget
    sample_rate: float
    steps: int
    sigma: float
    epsilon: float
    cross_check_epsilon: float

    @property
    def cross_check_accountant(self) -> str:
        return other_accountant(self.budget.accountant)


def calibrate(budget: PrivacyBudget, sample_rate: float, steps: int) -> Calibration:
    """Calibrate the noise multiplier so that the accountant's epsilon is <= the target.

    The non-private budget (epsilon = inf) gives sigma = 0. Results are cached.
    """
    check_mechanism(0.0, sample_rate, steps, budget.delta)
    if not budget.is_private:
        return Calibration(budget, sample_rate, steps, 0.0, math.inf, math.inf)
    key = _cache_key(budget, sample_rate, steps)
    path = cache_dir("calibration") / f"{key}.json"
    if path.exists():
        cached = json.loads(path.read_text())
        return Calibration(budget, sample_rate, steps, **cached)
    sigma = solve_sigma(budget, sample_rate, steps)
    epsilon = compute_epsilon(sigma, sample_rate, steps, budget.delta, budget.accountant)
    if epsilon > budget.epsilon:  # the guarantee must hold, whatever the solver did
        raise BenchError(f"calibration failed: epsilon {epsilon} exceeds target {budget.epsilon}")
    cross = compute_epsilon(
        sigma, sample_rate, steps, budget.delta, other_accountant(budget.accountant)
    )
    result = {"sigma": sigma, "epsilon": epsilon, "cross_check_epsilon": cross}
    write_json_atomic(path, result)
    return Calibration(budget, sample_rate, steps, **result)


def solve_sigma(budget: PrivacyBudget, sample_rate: float, steps: int) -> float:
    """The uncached calibration: opacus's bisection to within the tolerance below target."""
    from opacus.accountants.utils import get_noise_multiplier

    with quiet_accountant():
        return float(
            get_noise_multiplier(
                target_epsilon=budget.epsilon,
                target_delta=budget.delta,
                sample_rate=sample_rate,
                steps=steps,
                accountant=budget.accountant,
                epsilon_tolerance=CALIBRATION_TOLERANCE,
            )
        )


def _cache_key(budget: PrivacyBudget, sample_rate: float, steps: int) -> str:
    from opacus import __version__ as opacus_version

    text = json.dumps(
        [
            budget.epsilon,
            budget.delta,
            budget.accountant,
            sample_rate,
            steps,
            CALIBRATION_TOLERANCE,
            opacus_version,
        ]
    )
    return hashlib.sha256(text.encode()).hexdigest()[:24]
