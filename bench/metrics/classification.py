"""Binary classification metrics in float64 (numpy): AUROC, AUPRC, accuracy, bootstrap CIs.

The positive class is given by the labels: ``labels == 1`` are positives and ``scores``
are the model's scores for that class. ``mammo-cls`` uses malignant = 1 (the clinical
convention; the original study scored benign as positive, which changes AUPRC and
accuracy-at-0.5 but not AUROC up to ``1 - AUROC`` of the flipped scores).

AUROC is the Mann-Whitney statistic with ties counted one half (equal to
``sklearn.metrics.roc_auc_score``); AUPRC is average precision, the step-wise area
``sum_k (R_k - R_{k-1}) P_k`` over distinct thresholds (equal to
``sklearn.metrics.average_precision_score``).

Example:
    >>> y = np.array([0, 0, 1, 1]); s = np.array([0.1, 0.4, 0.35, 0.8])
    >>> auroc(y, s), round(auprc(y, s), 4), accuracy(y, s)
    (0.75, 0.8333, 0.75)
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.stats import rankdata

Metric = Callable[[np.ndarray, np.ndarray], float]


def _check(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(labels)
    s = np.asarray(scores, dtype=np.float64)
    if y.shape != s.shape or y.ndim != 1:
        raise ValueError(f"labels and scores must be 1-d of equal length, got {y.shape}, {s.shape}")
    if not np.isin(y, (0, 1)).all():
        raise ValueError("labels must be 0 (negative) or 1 (positive)")
    if not np.isfinite(s).all():
        raise ValueError("scores must be finite")
    return y.astype(bool), s


def auroc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve, P(score of a positive > score of a negative) + ties / 2."""
    y, s = _check(labels, scores)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        raise ValueError("AUROC needs both classes")
    ranks = rankdata(s)  # average ranks: ties count one half
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def auprc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Average precision (area under the precision-recall curve, step-wise)."""
    y, s = _check(labels, scores)
    if not y.any():
        raise ValueError("AUPRC needs at least one positive")
    order = np.argsort(-s, kind="mergesort")
    y, s = y[order], s[order]
    last = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]  # the end of each tie group
    tp = np.cumsum(y)[last]
    precision = tp / (last + 1)
    recall_step = np.diff(np.r_[0, tp]) / tp[-1]
    return float(np.sum(recall_step * precision))


def accuracy(labels: np.ndarray, scores: np.ndarray, threshold: float = 0.5) -> float:
    """Fraction of correct decisions with ``score >= threshold`` meaning positive."""
    y, s = _check(labels, scores)
    return float(np.mean((s >= threshold) == y))


def bootstrap_ci(
    metric: Metric,
    labels: np.ndarray,
    scores: np.ndarray,
    *,
    resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile bootstrap CI of ``metric``, resampling within each class (stratified).

    Stratification keeps both classes in every resample, so AUROC is always defined,
    and keeps the class balance of the test set, which AUPRC depends on.
    """
    y, s = _check(labels, scores)
    rng = np.random.default_rng(seed)
    pos, neg = np.flatnonzero(y), np.flatnonzero(~y)
    values = np.empty(resamples)
    for b in range(resamples):
        idx = np.r_[rng.choice(pos, len(pos)), rng.choice(neg, len(neg))]
        values[b] = metric(y[idx].astype(np.int64), s[idx])
    alpha = (1 - confidence) / 2
    low, high = np.quantile(values, [alpha, 1 - alpha])
    return float(low), float(high)


def classification_metrics(
    labels: np.ndarray, scores: np.ndarray, suffix: str, *, resamples: int, seed: int
) -> dict[str, float]:
    """AUROC with its bootstrap 95% CI, AUPRC and accuracy, names ending in ``_<suffix>``."""
    low, high = bootstrap_ci(auroc, labels, scores, resamples=resamples, seed=seed)
    return {
        f"auroc_{suffix}": auroc(labels, scores),
        f"auroc_{suffix}_ci_low": low,
        f"auroc_{suffix}_ci_high": high,
        f"auprc_{suffix}": auprc(labels, scores),
        f"accuracy_{suffix}": accuracy(labels, scores),
    }
