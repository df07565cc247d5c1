"""Controllability, diversity and FID arithmetic of the cardiac-ldm task, against oracles."""

import numpy as np
import pytest
from scipy import stats

from bench.datasets.phantoms.cardiac import ATTRIBUTES, LABELS, make_cardiac
from bench.metrics.msssim import ms_ssim_volumes, pairwise_ms_ssim
from bench.tasks.cardiac_ldm.controllability import (
    controllability,
    measure,
    pearson,
    requested,
    wall_thickness_mm,
)


def test_pearson_matches_scipy_and_handles_degenerate_input():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=50), rng.normal(size=50)
    assert pearson(x, x + y) == pytest.approx(stats.pearsonr(x, x + y)[0], abs=1e-12)
    assert pearson(x, np.ones(50)) == 0.0  # a constant measurement controls nothing
    assert np.isnan(pearson([1.0, 2.0], [2.0, 1.0]))


def _ring(outer: float, inner: float, size: int = 64) -> np.ndarray:
    yy, xx = np.mgrid[:size, :size] - (size - 1) / 2
    r = np.hypot(yy, xx)
    mask = np.zeros((1, 3, size, size), np.uint8)
    mask[0, :, r < outer] = LABELS["myocardium"]
    mask[0, :, r < inner] = LABELS["LV"]
    return mask


@pytest.mark.parametrize(("outer", "inner"), [(20, 14), (25, 15), (12, 10)])
def test_wall_thickness_of_a_ring_is_its_width(outer, inner):
    spacing = (10.0, 0.5, 0.5)
    measured = wall_thickness_mm(_ring(outer, inner), spacing)[0]
    assert measured == pytest.approx((outer - inner) * 0.5, abs=0.15)


def test_no_myocardium_gives_no_thickness():
    assert np.isnan(wall_thickness_mm(np.zeros((1, 2, 8, 8), np.uint8), (10.0, 1.0, 1.0))[0])


def test_phantom_masks_measure_what_the_attributes_say():
    # The oracle: the phantoms render their anatomy from the attribute vector.
    data = make_cardiac(12, "private", shape=(13, 96, 96), seed=0)
    got = measure(data.masks, data.spacing_mm)
    asked = requested(data.attributes)
    assert pearson(got["lv_volume"], asked["lv_volume"]) > 0.97
    assert pearson(got["rv_volume"], asked["rv_volume"]) > 0.9
    assert pearson(got["myo_thickness"], asked["myo_thickness"]) > 0.8
    phase = data.attributes[:, ATTRIBUTES.index("ESED")]
    metrics = controllability(got, phase.astype(float), data.attributes)
    assert metrics["cycle_accuracy"] == 1.0 and metrics["lv_volume_r"] > 0.97


def test_requested_values_follow_the_phase_and_drop_missing():
    row = np.full(14, -1.0, np.float32)
    ed, es = row.copy(), row.copy()
    ed[[0, 1, 11]] = 150.0, 60.0, 1.0
    es[[0, 1, 11]] = 150.0, 60.0, 0.0
    asked = requested(np.stack([ed, es, row]))
    assert asked["lv_volume"][:2].tolist() == [150.0, 60.0]
    assert np.isnan(asked["lv_volume"][2]) and np.isnan(asked["phase"][2])
    assert np.isnan(asked["myo_thickness"]).all()


def test_a_metric_without_enough_pairs_is_not_reported():
    attrs = np.full((4, 14), -1.0, np.float32)
    measured = {k: np.ones(4) for k in ("lv_volume", "rv_volume", "myo_thickness")}
    assert controllability(measured, np.ones(4), attrs) == {}


def test_ms_ssim_is_one_for_identical_volumes_and_falls_with_noise():
    rng = np.random.default_rng(0)
    clean = make_cardiac(2, "private", shape=(4, 32, 32), seed=0).images.astype(np.float64)
    assert ms_ssim_volumes(clean, clean) == pytest.approx([1.0, 1.0])
    values = [
        ms_ssim_volumes(clean, np.clip(clean + s * rng.normal(size=clean.shape), 0, 1)).mean()
        for s in (0.02, 0.1, 0.3)
    ]
    assert values[0] > values[1] > values[2]


def test_ms_ssim_does_not_depend_on_batch_order():
    rng = np.random.default_rng(1)
    a, b = rng.random((4, 2, 32, 32)), rng.random((4, 2, 32, 32))
    order = np.array([2, 0, 3, 1])
    assert np.allclose(ms_ssim_volumes(a, b)[order], ms_ssim_volumes(a[order], b[order]))
    assert pairwise_ms_ssim(a, np.array([1, 0, 3, 2])) == pytest.approx(
        ms_ssim_volumes(a, a[[1, 0, 3, 2]]).mean()
    )
