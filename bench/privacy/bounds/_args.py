"""Argument checks shared by the bounds modules: float64 arrays that obey a rule."""

from __future__ import annotations

import numpy as np

RULES = {
    "nonneg": (lambda a: a >= 0, ">= 0"),
    "pos": (lambda a: a > 0, "> 0"),
    "count": (lambda a: (a >= 1) & np.isfinite(a) & (a == np.floor(a)), "an integer >= 1"),
    "open_unit": (lambda a: (a > 0) & (a < 1), "in (0, 1)"),
    "unit": (lambda a: (a >= 0) & (a <= 1), "in [0, 1]"),
    "rate": (lambda a: (a > 0) & (a <= 1), "in (0, 1]"),
}


def check(name, value, rule):
    """Return ``value`` as a float64 array, raising ValueError unless it obeys ``rule``."""
    arr = np.asarray(value, dtype=float)
    ok, text = RULES[rule]
    if not np.all(ok(arr)):
        raise ValueError(f"{name} must be {text}, got {value!r}")
    return arr


def scalar(name, value, rule):
    arr = check(name, value, rule)
    if arr.ndim:
        raise ValueError(f"{name} must be a scalar, got shape {arr.shape}")
    return arr.item()
