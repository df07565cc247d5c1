"""Statistics for reported rates: exact binomial confidence intervals.

Example:
    >>> low, high = clopper_pearson(5, 10)
    >>> round(low, 4), round(high, 4)
    (0.1871, 0.8129)
"""

from __future__ import annotations

from scipy.stats import beta


def clopper_pearson(successes: int, trials: int, confidence: float = 0.95) -> tuple[float, float]:
    """Exact (Clopper-Pearson) two-sided confidence interval of a binomial proportion."""
    if trials < 1 or not (0 <= successes <= trials):
        raise ValueError(f"need 0 <= successes <= trials and trials >= 1, got {successes}/{trials}")
    alpha = 1.0 - confidence
    low = 0.0 if successes == 0 else float(beta.ppf(alpha / 2, successes, trials - successes + 1))
    high = (
        1.0
        if successes == trials
        else float(beta.isf(alpha / 2, successes + 1, trials - successes))
    )
    return low, high
