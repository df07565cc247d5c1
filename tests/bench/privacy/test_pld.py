"""The PLD bound of the subsampled ReRo: above the exact power, close to it, fast enough."""

import itertools

import numpy as np
import pytest
from scipy.special import ndtr, ndtri

from bench.privacy.bounds import rero as r
from bench.privacy.bounds.pld import rero_subsampled_pld


def _one_step_exact(kappa, sigma, q):
    """T = 1: L is increasing in y, so the best test rejects y > sigma z_(1-kappa)."""
    c = sigma * ndtri(1 - kappa)
    return (1 - q) * kappa + q * ndtr((1 - c) / sigma)


@pytest.mark.parametrize(
    ("kappa", "sigma", "q"), [(0.1, 1.0, 0.01), (1 / 13, 0.5, 0.3), (0.01, 2.0, 0.9)]
)
def test_one_step_is_above_the_exact_power_and_close(kappa, sigma, q):
    exact = _one_step_exact(kappa, sigma, q)
    bound = rero_subsampled_pld(kappa, sigma, q, 1)
    assert exact <= bound <= exact * np.exp(0.01)


def test_the_issue_setting_where_edgeworth_falls_below_the_exact_value():
    # Exact power 0.0379900 (dp-accounting's PLD, issue 15); Edgeworth gives 0.0379673.
    args = (1 / 76, 1.1056, 0.0125, 948)
    bound = rero_subsampled_pld(*args)
    assert 0.0379900 <= bound <= 0.0379900 * np.exp(0.01)
    assert r.rero_subsampled_edgeworth(*args) < 0.0379900  # why it is only a cross-check


@pytest.mark.parametrize(
    ("kappa", "sigma", "q", "steps"),
    [(0.1, 1.0, 0.1, 100), (0.1, 0.5, 0.001, 1000), (1 / 13, 0.8, 0.05, 200)],
)
def test_smoke_never_below_the_monte_carlo_interval(kappa, sigma, q, steps):
    mc = r.rero_subsampled_mc(kappa, sigma, q, steps, n_samples=20_000, seed=3)
    bound = rero_subsampled_pld(kappa, sigma, q, steps)
    assert mc.ci_low <= bound <= mc.ci_high + 0.01


def test_monotone_and_in_range():
    values = [rero_subsampled_pld(0.1, s, 0.05, 100) for s in (0.6, 1.0, 2.0, 8.0)]
    assert all(a >= b for a, b in itertools.pairwise(values))
    assert 0.1 <= values[-1] < 0.12 and values[0] <= 1.0
    assert rero_subsampled_pld(0.1, 0.2, 0.9, 10) == 1.0


@pytest.mark.parametrize(
    ("args", "name"),
    [((0.0, 1.0, 0.1, 10), "kappa"), ((0.1, 0.0, 0.1, 10), "sigma"),
     ((0.1, 1.0, 1.0, 10), "sample_rate"), ((0.1, 1.0, 0.1, 0), "steps")],
)  # fmt: skip
def test_invalid_input_names_the_argument(args, name):
    with pytest.raises(ValueError, match=name):
        rero_subsampled_pld(*args)


def _random_settings(count, seed=2026):
    rng = np.random.default_rng(seed)
    for _ in range(count):
        yield (
            float(10 ** rng.uniform(-2, np.log10(0.5))),  # kappa
            float(10 ** rng.uniform(np.log10(0.5), np.log10(4))),  # sigma
            float(10 ** rng.uniform(-3, np.log10(0.5))),  # q
            int(10 ** rng.uniform(0, 3)),  # steps
        )


@pytest.mark.slow
@pytest.mark.parametrize("setting", list(_random_settings(20)))
def test_never_below_the_monte_carlo_reference_on_20_random_settings(setting):
    mc = r.rero_subsampled_mc(*setting, n_samples=200_000, seed=7)
    bound = rero_subsampled_pld(*setting)
    assert bound >= mc.ci_low, (setting, bound, mc)
    assert bound <= mc.ci_high + 0.01, (setting, bound, mc)  # and not loose
