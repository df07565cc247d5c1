"""opacus's noise calibration (``get_noise_multiplier``), same answer, fewer accountant calls.

opacus doubles sigma from 20 until epsilon <= target, then bisects [0, sigma_high] until
the epsilon of sigma_high lies within ``tol`` below the target, calling the accountant at
every point: about 15 calls, each a PRV convolution (seconds in all). The calibrated sigma
of every record came from that walk, so it must not change: :func:`search` walks the very
same points and takes the very same decisions, but asks the accountant only where a
decision does not already follow from epsilon values it has computed.

Why that is safe: epsilon decreases with sigma. If the accountant gave eps(s') >= a at
some s' >= s, then eps(s) >= a too, so opacus's decision at s is known without calling it.
A point of the walk is *guessed* first (a cheap surrogate through the values computed so
far), then either implied by computed values or computed; the walk is re-run until every
decision on it is implied or computed, so a wrong guess costs calls, never a different
answer. The PRV accountant's epsilon is monotone in sigma only up to numerical noise
(about 1e-8 measured, between points 1e-13 apart); an implied decision must hold with
:data:`INFER_MARGIN` to spare, and the returned sigma is always computed.

Example:
    >>> exact = lambda s: 1.0 / s  # a toy accountant: epsilon = 1 / sigma
    >>> search(exact, target=0.5, tol=0.01)
    2.03125
    >>> opacus_walk(exact, 0.5, 0.01)[0]
    2.03125
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

MAX_SIGMA = 1e6  # opacus.accountants.utils.MAX_SIGMA: beyond it the budget is "too low"
INFER_MARGIN = 1e-6  # epsilon units; 100x the accountant's measured non-monotone noise
MAX_CALLS = 200  # a walk of tol 0.01 takes ~15-60 points; this bounds a runaway search


@dataclass(frozen=True)
class Decision:
    """The walk needs ``holds(eps(sigma))``; ``up`` when a larger epsilon also satisfies it."""

    sigma: float
    holds: Callable[[float], bool]
    up: bool


class BudgetTooLow(Exception):
    """opacus's "The privacy budget is too low": sigma passed MAX_SIGMA, epsilon still high."""

    def __init__(self, sigma: float, decisions: list[Decision]):
        super().__init__(f"sigma passed {MAX_SIGMA:g}")
        self.sigma = sigma  # the last sigma whose epsilon exceeded the target
        self.decisions = decisions


def opacus_walk(eps_at, target: float, tol: float) -> tuple[float, list[Decision]]:
    """opacus 1.6 ``get_noise_multiplier`` with ``eps_at`` as accountant, and its decisions.

    The same arithmetic in the same order (integers while doubling, as in opacus), so that
    with the accountant as ``eps_at`` the result is opacus's, bit for bit.
    """
    decisions: list[Decision] = []

    def note(sigma, holds, up, value):
        decisions.append(Decision(sigma, holds, up))
        return holds(value)

    eps_high, sigma_low, sigma_high = math.inf, 0, 10
    while True:  # while eps_high > target: double
        sigma_high = 2 * sigma_high
        eps_high = eps_at(sigma_high)
        if sigma_high > MAX_SIGMA:
            raise BudgetTooLow(sigma_high / 2, decisions)
        if note(sigma_high, lambda e: e > target, True, eps_high):
            continue
        decisions[-1] = Decision(sigma_high, lambda e: not e > target, False)
        break
    while note(sigma_high, lambda e: target - e > tol, False, eps_high):
        sigma = (sigma_low + sigma_high) / 2
        eps = eps_at(sigma)
        if note(sigma, lambda e: e < target, False, eps):
            sigma_high, eps_high = sigma, eps
        else:
            decisions[-1] = Decision(sigma, lambda e: not e < target, True)
            sigma_low = sigma
    decisions[-1] = Decision(sigma_high, lambda e: not target - e > tol, True)
    return float(sigma_high), decisions


def _implied(d: Decision, known: dict[float, float]) -> bool:
    if d.sigma in known:
        return d.holds(known[d.sigma])
    if d.up:  # a computed point at larger sigma has a smaller epsilon that already holds
        return any(s > d.sigma and d.holds(e - INFER_MARGIN) for s, e in known.items())
    return any(s < d.sigma and d.holds(e + INFER_MARGIN) for s, e in known.items())


def guess(sigma: float, known: dict[float, float], surrogate) -> float:
    """A cheap epsilon at ``sigma``: log-log interpolation of computed values, else the
    surrogate scaled to the nearest computed value."""
    pts = sorted((s, e) for s, e in known.items() if 0 < e < math.inf)
    if len(pts) >= 2:
        i = next((k for k, (s, _) in enumerate(pts) if s >= sigma), len(pts))
        (s0, e0), (s1, e1) = pts[max(0, min(i - 1, len(pts) - 2)) :][:2]
        slope = math.log(e1 / e0) / math.log(s1 / s0) if s1 != s0 else -1.0
        return e0 * math.exp(slope * math.log(sigma / s0)) if slope < 0 else surrogate(sigma)
    if pts:
        s0, e0 = pts[0]
        base = surrogate(s0)
        if 0 < base < math.inf:
            return surrogate(sigma) * e0 / base
    return surrogate(sigma)


def search(exact: Callable[[float], float], target: float, tol: float, surrogate=None) -> float:
    """opacus's calibrated sigma for the accountant ``exact`` (see the module docstring).

    Raises:
        BudgetTooLow: as opacus does, when sigma passes MAX_SIGMA.
    """
    surrogate = surrogate or (lambda s: 1.0 / s)
    known: dict[float, float] = {}
    for _ in range(MAX_CALLS):

        def eps_at(s):
            return known[s] if s in known else guess(s, known, surrogate)

        try:
            result, decisions = opacus_walk(eps_at, target, tol)
        except BudgetTooLow as exc:
            result, decisions = None, exc.decisions
            failure = exc
        todo = [d.sigma for d in decisions if not _implied(d, known)]
        if result is not None and result not in known:
            todo.append(result)  # the answer is always computed
        if not todo:
            if result is None:
                raise failure
            return result
        known[todo[-1]] = exact(todo[-1])
    raise RuntimeError(f"calibration search did not settle after {MAX_CALLS} calls")
