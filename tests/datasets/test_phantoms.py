"""Procedural phantoms: determinism, layout, anatomy rendered from attributes, task difficulty."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from bench.datasets.phantoms.cardiac import (
    ATTRIBUTES,
    LABELS,
    VOXEL_MM,
    CardiacPhantoms,
    make_cardiac,
    mask_volumes_ml,
)
from bench.datasets.phantoms.mammo import make_mammo

SMALL = (13, 48, 48)


def column(data: CardiacPhantoms, name: str) -> np.ndarray:
    return data.attributes[:, ATTRIBUTES.index(name)]


@pytest.fixture(scope="module")
def private() -> CardiacPhantoms:
    return make_cardiac(40, "private", shape=SMALL, seed=3)


@pytest.fixture(scope="module")
def public() -> CardiacPhantoms:
    return make_cardiac(40, "public", shape=SMALL, seed=3)


# --- cardiac -----------------------------------------------------------------------------


def test_cardiac_is_deterministic_and_sample_i_does_not_depend_on_n():
    few = make_cardiac(3, "private", shape=(8, 32, 32), seed=5)
    many = make_cardiac(6, "private", shape=(8, 32, 32), seed=5)
    again = make_cardiac(3, "private", shape=(8, 32, 32), seed=5)
    for field in ("images", "masks", "attributes"):
        np.testing.assert_array_equal(getattr(few, field), getattr(many, field)[:3])
        np.testing.assert_array_equal(getattr(few, field), getattr(again, field))


def test_cardiac_seed_and_variant_change_the_samples():
    base = make_cardiac(2, "private", shape=(8, 32, 32), seed=0)
    other_seed = make_cardiac(2, "private", shape=(8, 32, 32), seed=1)
    other_variant = make_cardiac(2, "public", shape=(8, 32, 32), seed=0)
    assert not np.array_equal(base.attributes, other_seed.attributes)
    assert not np.array_equal(base.attributes, other_variant.attributes)


def test_cardiac_layout(private):
    assert private.images.shape == (40, *SMALL) and private.images.dtype == np.float32
    assert private.masks.shape == (40, *SMALL) and private.masks.dtype == np.uint8
    assert private.attributes.shape == (40, 14) and private.attributes.dtype == np.float32
    assert private.images.min() >= 0.0 and private.images.max() <= 1.0
    assert set(np.unique(private.masks)) == set(LABELS.values())
    assert np.isfinite(private.attributes).all()
    assert private.variant == "private"
    assert private.spacing_mm == pytest.approx((10.0, 2 * VOXEL_MM[1], 2 * VOXEL_MM[2]))


def test_paper_shape_has_the_paper_voxel_size():
    data = make_cardiac(2, "public")
    assert data.images.shape == (2, 13, 96, 96)
    assert data.spacing_mm == pytest.approx(VOXEL_MM)


def test_ed_and_es_frames_alternate_and_share_the_subject(private):
    np.testing.assert_array_equal(column(private, "ESED"), np.tile([1.0, 0.0], 20))
    shared = [i for i, name in enumerate(ATTRIBUTES) if name not in ("ESED", "DEPTH")]
    np.testing.assert_array_equal(
        private.attributes[0::2, shared], private.attributes[1::2, shared]
    )
    assert (column(private, "DEPTH")[0::2] >= column(private, "DEPTH")[1::2]).all()


@pytest.mark.parametrize("variant", ["private", "public"])
def test_mask_volumes_match_the_requested_volumes(variant, private, public):
    data = private if variant == "private" else public
    volumes = mask_volumes_ml(data.masks, data.spacing_mm)
    is_ed = column(data, "ESED") == 1
    lv_wanted = np.where(is_ed, column(data, "LVEDV"), column(data, "LVESV"))
    rv_wanted = np.where(is_ed, column(data, "RVEDV"), column(data, "RVESV"))
    np.testing.assert_allclose(volumes[:, 0], lv_wanted, rtol=0.1)
    np.testing.assert_allclose(volumes[:, 2], rv_wanted, rtol=0.1)
    assert (volumes[0::2, 0] > volumes[1::2, 0]).all()
    # the myocardium keeps its volume over the cycle
    np.testing.assert_allclose(volumes[0::2, 1], volumes[1::2, 1], rtol=0.15)


def test_wall_thickness_follows_the_attributes():
    data = make_cardiac(4, "private", seed=1)
    for mask, attributes in zip(data.masks, data.attributes, strict=True):
        endo = (mask == LABELS["LV"]).sum(axis=(1, 2))
        epi = endo + (mask == LABELS["myocardium"]).sum(axis=(1, 2))
        keep = endo > 20
        measured = np.mean(np.sqrt(epi[keep] / np.pi) - np.sqrt(endo[keep] / np.pi))
        wanted = attributes[ATTRIBUTES.index("MYOEDTHICK" if attributes[11] else "MYOESTHICK")]
        assert measured * data.spacing_mm[1] == pytest.approx(wanted, rel=0.1)


def test_depth_counts_the_slices_that_contain_heart(private):
    counted = (private.masks > 0).any(axis=(2, 3)).sum(axis=1)
    np.testing.assert_array_equal(counted, column(private, "DEPTH"))


def test_angle_rotates_the_heart_counter_clockwise(private):
    rows, cols = np.indices(SMALL[1:])
    errors = []
    for mask, angle in zip(private.masks, column(private, "ANGLE"), strict=True):
        lv, rv = mask == LABELS["LV"], mask == LABELS["RV"]
        d_row = rows[rv.any(0)].mean() - rows[lv.any(0)].mean()
        d_col = cols[rv.any(0)].mean() - cols[lv.any(0)].mean()
        measured = np.degrees(np.arctan2(-d_row, d_col))
        errors.append((measured - 165.0 - angle + 180.0) % 360.0 - 180.0)
    assert np.median(np.abs(errors)) < 15.0


def test_private_attributes_are_in_adult_reference_ranges(private):
    assert 120 < np.median(column(private, "LVEDV")) < 170
    assert 40 < np.median(column(private, "LVESV")) < 70
    assert ((column(private, "LVEF") >= 45) & (column(private, "LVEF") <= 76)).all()
    assert 6 < np.median(column(private, "MYOEDTHICK")) < 10
    assert (column(private, "MYOESTHICK") > column(private, "MYOEDTHICK")).all()
    assert set(np.unique(column(private, "SEX"))) == {0.0, 1.0}
    assert ((column(private, "DEPTH") >= 6) & (column(private, "DEPTH") <= 12)).all()
    ef = 100 * (1 - column(private, "LVESV") / column(private, "LVEDV"))
    np.testing.assert_allclose(ef, column(private, "LVEF"), atol=1e-3)


def test_public_variant_differs_in_population_and_scanner(private, public):
    assert column(public, "LVEF").std() > 2 * column(private, "LVEF").std()
    assert (column(public, "LVEF") < 45).any() and not (column(private, "LVEF") < 45).any()

    def contrast(data):
        pairs = list(zip(data.images, data.masks, strict=True))
        myo = np.array([image[mask == LABELS["myocardium"]].mean() for image, mask in pairs])
        blood = np.array([image[mask == LABELS["LV"]].mean() for image, mask in pairs])
        return np.median(myo / blood)

    assert contrast(public) > contrast(private) + 0.05


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"variant": "ukbb"}, "variant"),
        ({"n": 0}, "n must"),
        ({"n": 2.5}, "n must"),
        ({"n": True}, "n must"),
        ({"shape": (13, 96)}, "shape"),
        ({"shape": (2, 96, 96)}, "shape"),
        ({"shape": (13, 8, 8)}, "shape"),
    ],
)
def test_cardiac_rejects_bad_input(kwargs, message):
    arguments = {"n": 2, "variant": "private", "shape": (8, 32, 32)} | kwargs
    with pytest.raises(ValueError, match=message):
        make_cardiac(**arguments)


# --- mammography -------------------------------------------------------------------------


def test_mammo_is_deterministic_and_sample_i_does_not_depend_on_n():
    few = make_mammo(5, "external", size=32, seed=2)
    many = make_mammo(9, "external", size=32, seed=2)
    np.testing.assert_array_equal(few.images, many.images[:5])
    np.testing.assert_array_equal(few.labels, many.labels[:5])
    np.testing.assert_array_equal(few.images, make_mammo(5, "external", size=32, seed=2).images)
    assert not np.array_equal(few.images, make_mammo(5, "external", size=32, seed=3).images)


def test_mammo_layout_and_balance():
    data = make_mammo(64, "private", size=128)
    assert data.images.shape == (64, 128, 128) and data.images.dtype == np.float32
    assert data.images.min() >= 0.0 and data.images.max() <= 1.0
    assert data.labels.dtype == np.int64 and set(np.unique(data.labels)) == {0, 1}
    assert data.labels.sum() == 32
    assert data.variant == "private"


def radial_features(image: np.ndarray) -> list[float]:
    """Mass contrast, spiculation (tangential over radial gradient energy), margin sharpness."""
    size = image.shape[0]
    rows, cols = np.indices(image.shape) - (size - 1) / 2
    radius = np.hypot(rows, cols) + 1e-6
    smooth = ndimage.gaussian_filter(image, 0.7)
    g_row, g_col = ndimage.sobel(smooth, 0), ndimage.sobel(smooth, 1)
    radial = (g_col * cols + g_row * rows) / radius
    tangential = (g_row * cols - g_col * rows) / radius
    ring = (radius > 0.25 * size / 2) & (radius < 0.9 * size / 2)
    core = image[radius < 0.15 * size / 2].mean() - image[radius > 0.6 * size / 2].mean()
    spiculation = (tangential[ring] ** 2).mean() / ((radial[ring] ** 2).mean() + 1e-9)
    ridges = np.clip(-ndimage.gaussian_laplace(image, 1.0), 0, None)[ring].mean()
    steps = np.arange(0.0, 1.0, 0.1) * size / 2
    profile = [image[(radius >= r) & (radius < r + 0.1 * size / 2)].mean() for r in steps]
    sharpness = np.max(-np.diff(profile)) / (abs(core) + 1e-3)
    return [core, spiculation, ridges, sharpness, image.std(), np.hypot(g_row, g_col)[ring].mean()]


@pytest.mark.parametrize("variant", ["private", "external"])
def test_mammo_classes_are_separable_but_not_trivially(variant):
    data = make_mammo(600, variant, size=64, seed=11)
    features = np.array([radial_features(image) for image in data.images])
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    scores = cross_val_predict(model, features, data.labels, cv=5, method="predict_proba")[:, 1]
    auroc = roc_auc_score(data.labels, scores)
    assert 0.6 < auroc < 0.95


def test_mammo_external_site_is_shifted():
    def high_frequency(variant):
        images = make_mammo(40, variant, size=64, seed=4).images
        return np.mean([np.abs(np.diff(image, axis=1)).mean() for image in images])

    assert high_frequency("external") != pytest.approx(high_frequency("private"), rel=0.1)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"variant": "bcdr"}, "variant"),
        ({"n": -1}, "n must"),
        ({"n": 3.0}, "n must"),
        ({"size": 8}, "size"),
        ({"size": 64.0}, "size"),
    ],
)
def test_mammo_rejects_bad_input(kwargs, message):
    arguments = {"n": 2, "variant": "private", "size": 32} | kwargs
    with pytest.raises(ValueError, match=message):
        make_mammo(**arguments)
