"""Subject-level epsilon by group privacy: valid, at the task's delta, never below exact."""

import math

import pytest
from scipy.optimize import brentq
from scipy.stats import norm

from bench.privacy.accounting import epsilon_of_history
from bench.privacy.group import group_delta, subject_level


def _gaussian_epsilon(sensitivity: float, sigma: float, delta: float) -> float:
    """Exact epsilon of the Gaussian mechanism (Balle & Wang 2018, Thm 8)."""

    def gap(eps):
        a, b = sensitivity / (2 * sigma), eps * sigma / sensitivity
        return norm.cdf(a - b) - math.exp(eps) * norm.cdf(-a - b) - delta

    return brentq(gap, 0.0, 500.0)


@pytest.mark.parametrize("accountant", ["rdp", "prv"])
def test_subject_level_guarantee_holds_at_the_task_delta(accountant):
    history = [(1.2, 0.05, 200)]
    block = subject_level(history, 1e-5, accountant, 2)
    e, d = block["record_epsilon"], block["record_delta"]
    assert block["delta"] == 1e-5 and block["records_per_subject"] == 2
    assert epsilon_of_history(history, d, accountant) <= e  # the record-level step holds
    assert d * (1 + math.exp(e)) == pytest.approx(1e-5)  # group of 2 multiplies it back
    assert block["epsilon"] == pytest.approx(2 * e)
    assert block["epsilon"] > 2 * epsilon_of_history(history, 1e-5, accountant)
    assert "group privacy for 2 records" in block["how"]


@pytest.mark.parametrize("sigma", [0.8, 2.0, 5.0])
def test_subject_level_is_never_below_the_exact_two_record_gaussian(sigma):
    # one full-batch step: two records of one subject shift the sum by at most 2C, so the
    # exact subject-level epsilon is the Gaussian mechanism's at sensitivity 2
    block = subject_level([(sigma, 1.0, 1)], 1e-5, "prv", 2)
    assert block["epsilon"] >= _gaussian_epsilon(2.0, sigma, 1e-5)


def test_group_delta_sums_the_chain():
    assert group_delta(1e-5, 1.0, 3) == pytest.approx(1e-5 / (1 + math.e + math.e**2))


def test_large_epsilon_falls_back_to_rdp_where_prv_cannot_resolve_the_delta():
    block = subject_level([(0.7232666015625, 0.1, 50)], 1e-5, "prv", 2)  # epsilon ~10
    assert block["accountant"] == "rdp" and "rdp, as prv cannot resolve" in block["how"]
    assert block["epsilon"] >= 2 * epsilon_of_history([(0.7232666015625, 0.1, 50)], 1e-5, "prv")
