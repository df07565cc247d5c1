"""From an attack's true/false positive counts to an epsilon lower bound.

An (epsilon, delta)-DP mechanism confines every membership test to the hypothesis-testing
region (Kairouz et al. 2015; Dong, Roth and Su 2022, f_{eps,delta}):

    TPR <= e^eps FPR + delta        and        TNR <= e^eps FNR + delta,

so a test that reaches (TPR, FPR) proves eps >= log((TPR - delta) / FPR) and
eps >= log((TNR - delta) / FNR). The rates are estimated from finitely many independent
trials: the bound uses the Clopper-Pearson lower limit of TPR and upper limit of FPR (and
of FNR, TNR), each one-sided at level (1 - confidence) / 2, so that both hold together
with probability at least ``confidence`` (a union bound). The test -- its threshold, and
its score when several are offered (:func:`audit_tests`) -- is chosen on a quarter of the
trials and the bound computed on the other three quarters, so that the choice does not
bias the counts.

Example:
    >>> round(epsilon_lower_bound(990, 10, 10, 990, delta=1e-5), 3)
    3.982
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from bench.metrics.stats import clopper_pearson

#: Thresholds tried on the selection half (quantiles of its scores).
MAX_THRESHOLDS = 400


@dataclass(frozen=True)
class Counts:
    """Outcomes of a threshold test on trials with (in) and without (out) the canary."""

    tp: int
    fn: int
    fp: int
    tn: int

    @property
    def positives(self) -> int:
        return self.tp + self.fn

    @property
    def negatives(self) -> int:
        return self.fp + self.tn


def epsilon_from_rates(tpr: float, fpr: float, delta: float) -> float:
    """The epsilon a test with exact rates (TPR, FPR) proves (0 when it proves nothing).

    Both faces of the region: log((TPR - delta) / FPR) and log((1 - FPR - delta) / (1 - TPR)).

    Example:
        >>> round(epsilon_from_rates(0.5, 0.05, 0.0), 4)  # log(10)
        2.3026
    """
    best = 0.0
    for num, den in ((tpr - delta, fpr), (1.0 - fpr - delta, 1.0 - tpr)):
        if num > 0:
            best = max(best, math.inf if den <= 0 else math.log(num / den))
    return best


def epsilon_lower_bound(
    tp: int, fn: int, fp: int, tn: int, *, delta: float, confidence: float = 0.95
) -> float:
    """Epsilon lower bound holding with probability >= ``confidence`` over the trials.

    Args:
        tp, fn: trials with the canary, guessed in / out.
        fp, tn: trials without the canary, guessed in / out.
        delta: the claim's delta.
        confidence: joint confidence of the two Clopper-Pearson limits.
    """
    if min(tp, fn, fp, tn) < 0 or tp + fn == 0 or fp + tn == 0:
        raise ValueError(f"need trials with and without the canary, got {tp, fn, fp, tn}")
    tpr_low = clopper_pearson(tp, tp + fn, confidence)[0]
    fpr_high = clopper_pearson(fp, fp + tn, confidence)[1]
    faces = ((tpr_low - delta, fpr_high), (1.0 - fpr_high - delta, 1.0 - tpr_low))
    return max([0.0] + [math.log(num / den) for num, den in faces if num > 0 and den > 0])


def counts_at(scores_in, scores_out, threshold: float) -> Counts:
    """Guess "in" for a score >= ``threshold``."""
    scores_in, scores_out = np.asarray(scores_in), np.asarray(scores_out)
    tp, fp = int((scores_in >= threshold).sum()), int((scores_out >= threshold).sum())
    return Counts(tp, len(scores_in) - tp, fp, len(scores_out) - fp)


def _counts_for(s_in: np.ndarray, s_out: np.ndarray, thresholds: np.ndarray) -> list[Counts]:
    """:func:`counts_at` for many thresholds at once (sorted scores, binary search)."""
    n_in, n_out = len(s_in), len(s_out)
    tp = n_in - np.searchsorted(np.sort(s_in), thresholds, side="left")
    fp = n_out - np.searchsorted(np.sort(s_out), thresholds, side="left")
    pairs = zip(tp.tolist(), fp.tolist(), strict=True)
    return [Counts(a, n_in - a, b, n_out - b) for a, b in pairs]


@dataclass(frozen=True)
class TrialsBound:
    """The epsilon lower bound of an audit over independent trials, with how it was got."""

    epsilon: float
    confidence: float
    threshold: float
    counts: Counts
    selection_epsilon: float
    score: str = "score"

    def as_dict(self) -> dict:
        return {**asdict(self), "counts": asdict(self.counts)}


def audit_trials(scores_in, scores_out, *, delta: float, confidence: float = 0.95) -> TrialsBound:
    """Epsilon lower bound from the scores of independent trials with and without a canary.

    The first quarter of the trials of each side (every fourth) chooses the threshold (the
    one whose bound is largest there), the other three quarters give the counts and the
    bound: the choice never sees them. A small selection share suffices (the threshold is
    one number) and leaves more trials for the counts, which set the largest provable
    epsilon (about log(trials / 4.4) at 95 %).

    Example:
        >>> rng = np.random.default_rng(0)
        >>> b = audit_trials(rng.normal(3, 1, 4000), rng.normal(0, 1, 4000), delta=1e-5)
        >>> 4.5 < b.epsilon < 5.5  # 3-GDP: eps(1e-5) = 16.7, but 2000 trials prove 5.0
        True
    """
    return audit_tests({"score": (scores_in, scores_out)}, delta=delta, confidence=confidence)


def audit_tests(scores: dict, *, delta: float, confidence: float = 0.95) -> TrialsBound:
    """:func:`audit_trials` with the test chosen among several scores of the same trials.

    ``scores`` maps a name to ``(scores_in, scores_out)`` of the same trials (in the same
    order). The selection quarter chooses the score *and* its threshold (the pair whose
    bound is largest there; the first name on a tie), the other three quarters give the
    counts: the choice, however many scores it compares, never sees them, so the bound
    holds at ``confidence`` as for one score.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> x_in, x_out = rng.normal(3, 1, 4000), rng.normal(0, 1, 4000)
        >>> audit_tests({"noise": (-x_in, -x_out), "x": (x_in, x_out)}, delta=1e-5).score
        'x'
    """
    best = None
    for name, (scores_in, scores_out) in scores.items():
        scores_in, scores_out = np.asarray(scores_in, float), np.asarray(scores_out, float)
        if len(scores_in) < 2 or len(scores_out) < 2:
            raise ValueError("need at least two trials with and two without the canary")
        if not (np.isfinite(scores_in).all() and np.isfinite(scores_out).all()):
            raise ValueError("scores must be finite")
        threshold, picked = _select(scores_in[0::4], scores_out[0::4], delta, confidence)
        if best is None or picked > best[0]:
            best = (picked, threshold, name, scores_in, scores_out)
    if best is None:
        raise ValueError("need at least one score")
    picked, threshold, name, scores_in, scores_out = best
    counts = counts_at(_rest(scores_in), _rest(scores_out), threshold)
    eps = epsilon_lower_bound(
        counts.tp, counts.fn, counts.fp, counts.tn, delta=delta, confidence=confidence
    )
    return TrialsBound(eps, confidence, threshold, counts, picked, name)


def _select(pick_in: np.ndarray, pick_out: np.ndarray, delta, confidence) -> tuple[float, float]:
    """The threshold whose bound is largest on the selection trials, and that bound."""
    candidates = np.unique(np.quantile(np.concatenate([pick_in, pick_out]),
                                       np.linspace(0, 1, MAX_THRESHOLDS)))  # fmt: skip
    candidates = np.append(candidates, np.nextafter(candidates.max(), math.inf))
    picked = [
        epsilon_lower_bound(c.tp, c.fn, c.fp, c.tn, delta=delta, confidence=confidence)
        for c in _counts_for(pick_in, pick_out, candidates)
    ]
    best = int(np.argmax(picked))
    return float(candidates[best]), picked[best]


def _rest(scores: np.ndarray) -> np.ndarray:
    """The trials the threshold choice did not see."""
    return np.delete(scores, np.s_[0::4])
