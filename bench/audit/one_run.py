"""The one-run audit of Steinke, Nasr and Jagielski ("Privacy Auditing with One (1)
Training Run", NeurIPS 2023).

m canaries are each included independently with probability 1/2 in one training run; the
auditor scores every canary, guesses "in" for the k+ highest scores and "out" for the k-
lowest, abstains on the rest, and counts v correct guesses out of r = k+ + k-. Their
Theorem 5.2 bounds, for an (eps, delta)-DP run, P[v or more correct] by

    p(eps, delta) = P[Bin(r, e^eps / (1 + e^eps)) >= v] + 2 m delta max_i P[v > Bin >= v - i] / i

(the Binomial tail of eps-DP randomized response, plus the delta term of their Algorithm /
Proposition 5.3), and the audit reports the largest eps whose p-value is below the level:
a lower bound at that confidence. Unlike :func:`bench.audit.bounds.audit_trials`, it needs
no independence between the canaries: the theorem covers their dependence in one run.

Several guess counts are tried; each is tested at level (1 - confidence) / (number of
counts tried) (Bonferroni), so that picking the best of them keeps the confidence.

Example:
    >>> round(one_run_epsilon(m=1000, r=100, v=100, delta=0.0), 3)  # 100 of 100 right
    3.493
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats

#: Numbers of guesses tried, as fractions of the canaries (half "in", half "out").
GUESS_FRACTIONS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5)


def p_value(m: int, r: int, v: int, epsilon: float, delta: float) -> float:
    """P[at least v of r guesses right] under an (epsilon, delta)-DP run with m canaries.

    Example:
        >>> round(p_value(m=100, r=10, v=10, epsilon=1.0, delta=0.0), 4)  # 0.731**10
        0.0436
    """
    if not 0 <= v <= r <= m or epsilon < 0 or not 0 <= delta <= 1:
        raise ValueError(f"need 0 <= v <= r <= m, eps >= 0, 0 <= delta <= 1: {m, r, v}")
    q = 1.0 / (1.0 + math.exp(-epsilon))  # the accuracy of eps-DP randomized response
    tail = float(stats.binom.sf(v - 1, r, q))  # P[Bin(r, q) >= v]
    if delta == 0 or v == 0:
        return min(tail, 1.0)
    return min(tail + _alpha(r, v, q) * delta * 2 * m, 1.0)


def _alpha(r: int, v: int, q: float, block: int = 1024) -> float:
    """max over i = 1..v of P[v > Bin(r, q) >= v - i] / i, exactly.

    The sums are at most 1, so once the maximum so far exceeds 1 / i no larger i can beat
    it: the scan stops there (it would otherwise evaluate v probabilities).
    """
    best, total = 0.0, 0.0
    for start in range(1, v + 1, block):
        i = np.arange(start, min(start + block, v + 1))
        sums = total + np.cumsum(stats.binom.pmf(v - i, r, q))  # P[v > Bin >= v - i]
        best, total = max(best, float(np.max(sums / i))), float(sums[-1])
        if best >= 1.0 / (i[-1] + 1):
            break
    return best


def one_run_epsilon(m: int, r: int, v: int, delta: float, level: float = 0.05) -> float:
    """The largest epsilon whose p-value stays below ``level`` (0 if none): the bound.

    Bisection on eps as in the paper's code (p-value increases with eps).
    """
    if p_value(m, r, v, 0.0, delta) >= level:
        return 0.0
    low, high = 0.0, 1.0
    while p_value(m, r, v, high, delta) < level:
        low, high = high, 2 * high
        if high > 1e3:
            return math.inf
    for _ in range(40):
        mid = (low + high) / 2
        low, high = (mid, high) if p_value(m, r, v, mid, delta) < level else (low, mid)
    return low


@dataclass(frozen=True)
class OneRunBound:
    """The one-run bound and the guesses that gave it."""

    epsilon: float
    confidence: float
    canaries: int
    guesses: int
    correct: int

    def as_dict(self) -> dict:
        return asdict(self)


def audit_one_run(scores, included, *, delta: float, confidence: float = 0.95) -> OneRunBound:
    """The one-run epsilon lower bound from every canary's score and true membership.

    Args:
        scores: the auditor's score per canary (higher: more likely included).
        included: whether each canary was in the training data (a fair coin each).
        delta: the claim's delta.
        confidence: of the bound, over the run's randomness (canary coins included).
    """
    scores, included = np.asarray(scores, float), np.asarray(included, bool)
    m = len(scores)
    if m < 2 or len(included) != m or not np.isfinite(scores).all():
        raise ValueError("need a finite score and a membership for each of >= 2 canaries")
    order = np.argsort(scores, kind="stable")
    counts = sorted({max(2, 2 * round(f * m / 2)) for f in GUESS_FRACTIONS if f * m >= 2} or {2})
    level = (1.0 - confidence) / len(counts)
    best = OneRunBound(0.0, confidence, m, 0, 0)
    for r in counts:
        k = r // 2
        v = int(included[order[-k:]].sum() + (~included[order[:k]]).sum())
        eps = one_run_epsilon(m, r, v, delta, level)
        if eps > best.epsilon:
            best = OneRunBound(eps, confidence, m, r, v)
    return best
