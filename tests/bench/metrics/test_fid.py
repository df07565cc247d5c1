"""FID in float64 against the scipy ``sqrtm`` reference and closed-form cases."""

import numpy as np
import pytest
from scipy import linalg

from bench.metrics.fid import GaussianStats, fid, frechet_distance, trace_sqrt_product


def _reference(m1, c1, m2, c2):
    """The textbook formula through ``scipy.linalg.sqrtm`` (as pytorch-fid computes it)."""
    covmean = linalg.sqrtm(c1 @ c2)
    return float(np.sum((m1 - m2) ** 2) + np.trace(c1) + np.trace(c2) - 2 * np.trace(covmean.real))


def _spd(rng, d, scale=1.0):
    a = rng.normal(size=(d, d))
    return scale * (a @ a.T / d + 0.1 * np.eye(d))


@pytest.mark.parametrize("d", [1, 4, 32])
def test_matches_scipy_sqrtm(d):
    rng = np.random.default_rng(d)
    m1, m2 = rng.normal(size=d), rng.normal(size=d)
    c1, c2 = _spd(rng, d), _spd(rng, d, 2.0)
    assert frechet_distance(m1, c1, m2, c2) == pytest.approx(_reference(m1, c1, m2, c2), rel=1e-9)


def test_closed_form_cases():
    rng = np.random.default_rng(0)
    c = _spd(rng, 8)
    m = rng.normal(size=8)
    assert frechet_distance(m, c, m, c) == pytest.approx(0.0, abs=1e-9)  # identical Gaussians
    shift = rng.normal(size=8)
    assert frechet_distance(m, c, m + shift, c) == pytest.approx(np.sum(shift**2), rel=1e-9)
    # isotropic: (s1 - s2)^2 d for standard deviations s1, s2
    value = frechet_distance(np.zeros(5), 4 * np.eye(5), np.zeros(5), np.eye(5))
    assert value == pytest.approx(5.0, rel=1e-12)


def test_symmetric_and_positive_semidefinite_safe():
    rng = np.random.default_rng(1)
    c1 = _spd(rng, 6)
    low_rank = np.outer(*(2 * [rng.normal(size=6)]))  # singular covariance
    a = frechet_distance(np.zeros(6), c1, np.ones(6), low_rank)
    b = frechet_distance(np.ones(6), low_rank, np.zeros(6), c1)
    assert a == pytest.approx(b, rel=1e-6) and a >= 0  # sqrt of ~0 eigenvalues: 1e-8 noise
    assert trace_sqrt_product(c1, c1) == pytest.approx(np.trace(c1), rel=1e-9)


def test_fid_from_features_is_float64_and_sample_order_invariant():
    rng = np.random.default_rng(2)
    a = rng.normal(size=(500, 8)).astype(np.float32)
    b = rng.normal(0.5, 1.0, size=(400, 8)).astype(np.float32)
    value = fid(a, b)
    stats_a, stats_b = GaussianStats.of(a), GaussianStats.of(b)
    assert stats_a.cov.dtype == np.float64
    assert value == pytest.approx(_reference(stats_a.mean, stats_a.cov, stats_b.mean, stats_b.cov))
    assert fid(a[::-1], b[rng.permutation(400)]) == pytest.approx(value, rel=1e-9)
    assert fid(a, a) == pytest.approx(0.0, abs=1e-9)
    with pytest.raises(ValueError, match="n >= 2"):
        fid(a[:1], b)
