"""Classification metrics against scikit-learn, and their bootstrap CIs."""

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from bench.metrics.classification import (
    accuracy,
    auprc,
    auroc,
    bootstrap_ci,
    classification_metrics,
)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("ties", [False, True])
def test_auroc_and_auprc_equal_scikit_learn(seed, ties):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, 300)
    scores = rng.normal(labels * 0.8, 1.0)
    if ties:  # rounding creates many tied scores across classes
        scores = np.round(scores, 1)
    assert auroc(labels, scores) == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)
    assert auprc(labels, scores) == pytest.approx(
        average_precision_score(labels, scores), abs=1e-12
    )


def test_known_values_and_positive_class():
    y = np.array([0, 0, 1, 1])
    assert auroc(y, np.array([0.1, 0.2, 0.8, 0.9])) == 1.0
    assert auroc(y, np.array([0.9, 0.8, 0.2, 0.1])) == 0.0  # label 1 is the positive class
    assert auroc(y, np.full(4, 0.5)) == 0.5  # ties count one half
    assert accuracy(y, np.array([0.4, 0.6, 0.5, 0.9])) == 0.75  # 0.5 decides positive
    assert auprc(np.array([0, 1]), np.array([0.2, 0.9])) == 1.0


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="both classes"):
        auroc(np.ones(4, int), np.arange(4.0))
    with pytest.raises(ValueError, match=r"0 \(negative\) or 1"):
        auroc(np.array([0, 2]), np.array([0.1, 0.2]))
    with pytest.raises(ValueError, match="finite"):
        auroc(np.array([0, 1]), np.array([0.1, np.nan]))


def test_bootstrap_ci_brackets_the_estimate_and_narrows_with_more_data():
    rng = np.random.default_rng(0)
    widths = []
    for n in (100, 1600):
        labels = np.arange(n) % 2
        scores = rng.normal(labels, 1.0)
        low, high = bootstrap_ci(auroc, labels, scores, resamples=300, seed=1)
        assert low <= auroc(labels, scores) <= high
        widths.append(high - low)
    assert widths[1] < widths[0] / 2.5  # ~ 1 / sqrt(n): a factor 4 expected
    again = bootstrap_ci(auroc, labels, scores, resamples=300, seed=1)
    assert again == (low, high)


def test_classification_metrics_names():
    labels = np.arange(40) % 2
    metrics = classification_metrics(labels, labels * 0.5 + 0.25, "internal", resamples=20, seed=0)
    assert sorted(metrics) == [
        "accuracy_internal",
        "auprc_internal",
        "auroc_internal",
        "auroc_internal_ci_high",
        "auroc_internal_ci_low",
    ]
    assert metrics["auroc_internal"] == 1.0 == metrics["auroc_internal_ci_low"]
