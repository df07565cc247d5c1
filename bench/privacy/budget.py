"""The privacy budget as a typed value, and the parser for epsilon grids.

Example:
    >>> parse_epsilons("1,10,inf")
    (1.0, 10.0, inf)
    >>> PrivacyBudget(epsilon=float("inf"), delta=1e-5).is_private
    False
    >>> parse_epsilons("1,-1")
    Traceback (most recent call last):
    ...
    bench.errors.BenchError: bad epsilon '-1': must be a positive number or 'inf'
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, get_args

from bench.errors import BenchError

Accountant = Literal["prv", "rdp"]
ACCOUNTANTS: tuple[str, ...] = get_args(Accountant)


@dataclass(frozen=True)
class PrivacyBudget:
    """A target (epsilon, delta) guarantee and the accountant that certifies it.

    Attributes:
        epsilon: target epsilon; ``math.inf`` means the non-private baseline.
        delta: target delta.
        accountant: ``prv`` (default, tight) or ``rdp``; the other one is the cross-check.
    """

    epsilon: float
    delta: float
    accountant: Accountant = "prv"

    def __post_init__(self) -> None:
        if not (self.epsilon > 0):  # also rejects NaN
            raise BenchError(f"epsilon must be positive, got {self.epsilon}")
        if not (0 < self.delta < 1):
            raise BenchError(f"delta must be in (0, 1), got {self.delta}")
        if self.accountant not in ACCOUNTANTS:
            raise BenchError(f"unknown accountant {self.accountant!r} (known: prv, rdp)")

    @property
    def is_private(self) -> bool:
        """False for the non-private baseline (epsilon = inf)."""
        return math.isfinite(self.epsilon)


def parse_epsilon(text: str) -> float:
    """Parse one epsilon: a positive finite number or ``inf``."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if text.strip().lower() in ("inf", "+inf", "infinity"):
        return math.inf
    if math.isnan(value) or value <= 0 or math.isinf(value):
        raise BenchError(f"bad epsilon {text!r}: must be a positive number or 'inf'")
    return value


def parse_epsilons(text: str) -> tuple[float, ...]:
    """Parse a comma-separated epsilon grid; duplicates are removed, order kept."""
    items = [item.strip() for item in text.split(",")]
    if not text.strip() or any(not item for item in items):
        raise BenchError(f"bad epsilon list {text!r}: expected e.g. 1,10,inf")
    return tuple(dict.fromkeys(parse_epsilon(item) for item in items))


def format_epsilon(epsilon: float) -> str:
    """The canonical text of an epsilon, as used in paths and tables.

    >>> [format_epsilon(e) for e in (1.0, 0.5, 10.0, math.inf)]
    ['1', '0.5', '10', 'inf']
    """
    return "inf" if math.isinf(epsilon) else f"{epsilon:g}"
