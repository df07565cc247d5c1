"""Steinke, Nasr and Jagielski's one-run bound."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import stats

from bench.audit.one_run import audit_one_run, one_run_epsilon, p_value


def test_pure_dp_p_value_is_the_binomial_tail_of_randomized_response():
    q = math.exp(1.0) / (1 + math.exp(1.0))
    assert p_value(100, 20, 15, 1.0, 0.0) == pytest.approx(stats.binom.sf(14, 20, q))


def test_all_correct_guesses_give_the_closed_form_bound():
    """r right of r at level b: q^r = b, eps = log(q / (1 - q))."""
    q = 0.05 ** (1 / 100)
    assert one_run_epsilon(1000, 100, 100, 0.0) == pytest.approx(math.log(q / (1 - q)), 1e-6)


def test_delta_only_weakens_the_bound_and_it_grows_with_correct_guesses():
    assert one_run_epsilon(1000, 100, 100, 1e-5) <= one_run_epsilon(1000, 100, 100, 0.0)
    assert one_run_epsilon(1000, 100, 80, 1e-5) < one_run_epsilon(1000, 100, 95, 1e-5)
    assert one_run_epsilon(1000, 100, 50, 1e-5) == 0.0


def test_p_value_is_monotone_in_epsilon():
    values = [p_value(500, 100, 80, e, 1e-5) for e in np.linspace(0, 5, 21)]
    assert all(a <= b + 1e-15 for a, b in itertools.pairwise(values))


def test_randomized_response_is_never_caught_above_its_epsilon():
    """Canaries of an exactly eps-DP mechanism (randomized response): the bound stays
    below eps in (nearly) every repetition at 95 %."""
    eps, m = 2.0, 2000
    keep = math.exp(eps) / (1 + math.exp(eps))
    over = 0
    for seed in range(20):
        rng = np.random.default_rng(seed)
        included = rng.random(m) < 0.5
        said = np.where(rng.random(m) < keep, included, ~included)
        scores = said + rng.normal(0, 1e-3, m)  # ties broken at random
        over += audit_one_run(scores, included, delta=0.0).epsilon > eps
    assert over <= 2


def test_bad_counts_raise():
    with pytest.raises(ValueError):
        p_value(10, 20, 5, 1.0, 0.0)
