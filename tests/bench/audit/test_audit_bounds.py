"""The counts -> epsilon conversion, against the closed-form Gaussian trade-off."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import norm

from bench.audit.bounds import audit_trials, epsilon_from_rates, epsilon_lower_bound
from bench.privacy.bounds.prior_free import gdp_epsilon


@pytest.mark.parametrize("mu", [0.5, 1.0, 2.0, 3.0])
@pytest.mark.parametrize("delta", [1e-5, 1e-3])
def test_the_best_threshold_test_of_a_gaussian_reaches_its_exact_epsilon(mu, delta):
    """mu-GDP: the threshold tests N(0,1) vs N(mu,1) trace its trade-off curve, and the
    region's supremum over them is the exact eps(delta) (Dong, Roth, Su, Prop. 2.12)."""
    from scipy.optimize import minimize_scalar

    def minus(x):
        return -epsilon_from_rates(norm.sf(x - mu), norm.sf(x), delta)

    grid = np.linspace(-5, mu + 10, 301)
    start = grid[np.argmin([minus(x) for x in grid])]
    found = minimize_scalar(minus, bounds=(start - 0.1, start + 0.1), method="bounded",
                            options={"xatol": 1e-10})  # fmt: skip
    best = -found.fun
    assert best == pytest.approx(float(gdp_epsilon(delta, mu)), rel=1e-4)


def test_no_threshold_test_beats_the_exact_epsilon():
    mu, delta = 1.5, 1e-5
    exact = float(gdp_epsilon(delta, mu))
    for x in np.linspace(-5, 10, 301):
        assert epsilon_from_rates(norm.sf(x - mu), norm.sf(x), delta) <= exact + 1e-9


def test_the_bound_from_counts_stays_below_the_rates_and_grows_with_trials():
    rates = epsilon_from_rates(0.9, 0.01, 1e-5)
    small = epsilon_lower_bound(90, 10, 1, 99, delta=1e-5)
    large = epsilon_lower_bound(90_000, 10_000, 1_000, 99_000, delta=1e-5)
    assert small < large < rates
    assert large == pytest.approx(rates, abs=0.1)


def test_counts_that_prove_nothing_give_zero_and_bad_counts_raise():
    assert epsilon_lower_bound(50, 50, 50, 50, delta=1e-5) == 0.0
    with pytest.raises(ValueError):
        epsilon_lower_bound(0, 0, 5, 5, delta=1e-5)


def test_the_symmetric_face_counts_too():
    """A test that never misses an out-trial and rarely flags: TNR/FNR face."""
    assert epsilon_from_rates(0.02, 0.0, 0.0) == math.inf
    assert epsilon_from_rates(0.5, 0.5 - 0.4, 0.0) > 0


@pytest.mark.parametrize("mu", [1.0, 3.0])
def test_an_audit_of_gaussian_trials_is_below_the_exact_epsilon_and_close(mu):
    """Sampled trials of a mu-GDP mechanism: the bound never exceeds eps(delta), and with
    20k trials per side comes within the FPR resolution of it."""
    delta, exact = 1e-5, float(gdp_epsilon(1e-5, mu))
    for seed in range(3):
        rng = np.random.default_rng(seed)
        b = audit_trials(rng.normal(mu, 1, 20_000), rng.normal(0, 1, 20_000), delta=delta)
        assert 0 < b.epsilon <= exact
    # the best the counts can prove: rates of the threshold at the measurable FPR
    assert b.epsilon > 0.45 * min(exact, math.log(10_000 / 4))


def test_audit_trials_refuses_too_few_or_non_finite_scores():
    with pytest.raises(ValueError):
        audit_trials([1.0], [0.0, 1.0], delta=1e-5)
    with pytest.raises(ValueError):
        audit_trials([1.0, math.nan], [0.0, 1.0], delta=1e-5)


def test_a_choice_among_scores_is_the_selection_quarters_and_one_score_is_audit_trials(
    monkeypatch,
):
    """The selection quarter picks the score: an informative score beats a useless one,
    whatever their order, and with one score the bound is audit_trials' own."""
    from bench.audit import bounds
    from bench.audit.bounds import audit_tests

    monkeypatch.setattr(bounds, "MAX_THRESHOLDS", 40)  # fast: 40 thresholds, not 400
    rng = np.random.default_rng(1)
    x_in, x_out = rng.normal(2, 1, 4000), rng.normal(0, 1, 4000)
    noise_in, noise_out = rng.normal(0, 1, 4000), rng.normal(0, 1, 4000)
    alone = audit_trials(x_in, x_out, delta=1e-5)
    for tests in ({"x": (x_in, x_out), "noise": (noise_in, noise_out)},
                  {"noise": (noise_in, noise_out), "x": (x_in, x_out)}):  # fmt: skip
        chosen = audit_tests(tests, delta=1e-5)
        assert chosen.score == "x" and chosen.epsilon == alone.epsilon
        assert chosen.counts == alone.counts
    tied = audit_tests({"a": (x_in, x_out), "b": (2 * x_in, 2 * x_out)}, delta=1e-5)
    assert tied.score == "a" and tied.epsilon == alone.epsilon  # same test: the first name
    with pytest.raises(ValueError):
        audit_tests({}, delta=1e-5)
