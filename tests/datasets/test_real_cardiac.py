"""Cardiac loaders on their fake layouts: the phantoms' structure, ACDC's labels remapped,
attributes equal to the masks' volumes, 1- and 0-based phases, study A's pickles read safely."""

from __future__ import annotations

import os

import numpy as np
import pytest
from fixtures.fake_sunnybrook import PATIENTS, SLICE_MM, hand_volumes

from bench.datasets.checking import check
from bench.datasets.loading import load
from bench.datasets.phantoms.cardiac import mask_volumes_ml
from bench.datasets.real.acdc import ACDC_TO_UKBB
from bench.datasets.real.base import ReadError
from bench.datasets.real.sunnybrook import scan_cine
from bench.datasets.real.ukbb import read_sample
from bench.datasets.types import ATTRIBUTES

SHAPE = (13, 32, 32)


def value(data, sample: int, name: str) -> float:
    return float(data.attributes[sample, ATTRIBUTES.index(name)])


def assert_structure(data, n: int) -> None:
    assert data.images.shape == (n, *SHAPE) and data.images.dtype == np.float32
    assert data.masks.shape == (n, *SHAPE) and data.masks.dtype == np.uint8
    assert data.attributes.shape == (n, 14) and data.attributes.dtype == np.float32
    assert data.images.min() >= 0.0 and data.images.max() <= 1.0
    assert data.column("ESED").tolist() == [1.0, 0.0] * (n // 2)  # ED, ES of each subject
    assert data.subjects[0::2] == data.subjects[1::2]
    assert set(np.unique(data.masks)) <= {0, 1, 2, 3}


@pytest.mark.parametrize(("name", "fixture"), [("acdc", "acdc_root"), ("mnms", "mnms_root")])
def test_attributes_are_the_volumes_of_the_native_masks(request, name, fixture):
    root, truth = request.getfixturevalue(fixture)
    data = load(name, root=root, shape=SHAPE, use_cache=False)
    assert_structure(data, 2 * len(truth))
    assert data.has_masks.all() and data.provenance.problems == ()
    for k, (subject, (ed, es, spacing)) in enumerate(truth.items()):
        lv_ed, _, rv_ed = mask_volumes_ml(ed, spacing)
        lv_es, _, rv_es = mask_volumes_ml(es, spacing)
        assert data.subjects[2 * k] == subject
        # ACDC stores the LV as 3 and the RV as 1: equal volumes prove the remapping
        assert value(data, 2 * k, "LVEDV") == pytest.approx(lv_ed, rel=1e-4)
        assert value(data, 2 * k, "LVESV") == pytest.approx(lv_es, rel=1e-4)
        assert value(data, 2 * k, "RVEDV") == pytest.approx(rv_ed, rel=1e-4)
        assert value(data, 2 * k, "RVESV") == pytest.approx(rv_es, rel=1e-4)
        assert value(data, 2 * k, "LVEF") == pytest.approx(100 * (lv_ed - lv_es) / lv_ed, rel=1e-4)
        assert value(data, 2 * k, "MYOEDTHICK") > 0 and value(data, 2 * k, "ANGLE") == -1


@pytest.mark.parametrize(("name", "fixture"), [("acdc", "acdc_root"), ("mnms", "mnms_root")])
def test_resampled_masks_keep_the_heart_in_view(request, name, fixture):
    root, truth = request.getfixturevalue(fixture)
    data = load(name, root=root, shape=SHAPE, use_cache=False)
    for k, (ed, _, spacing) in enumerate(item[:3] for item in truth.values()):
        native = mask_volumes_ml(ed, spacing)
        resampled = mask_volumes_ml(data.masks[2 * k], data.spacing_mm)
        np.testing.assert_allclose(resampled, native, rtol=0.2)
        assert value(data, 2 * k, "DEPTH") == data.masks[2 * k].any(axis=(1, 2)).sum()


def test_acdc_label_map_and_metadata(acdc_root):
    assert ACDC_TO_UKBB[[0, 1, 2, 3]].tolist() == [0, 3, 2, 1]  # RV 1 -> 3, LV 3 -> 1
    root, _ = acdc_root
    data = load("acdc", root=root, shape=SHAPE)
    assert value(data, 0, "BMI") == pytest.approx(70 / 1.7**2, rel=1e-5)
    assert value(data, 0, "AGE") == -1 and value(data, 0, "SEX") == -1
    assert len(load("acdc", "test", root, shape=SHAPE)) == 2  # patient003 is in testing/


def test_mnms_metadata_and_unlabeled_subjects(mnms_root):
    root, _ = mnms_root
    data = load("mnms", root=root, shape=SHAPE)
    assert [value(data, i, "AGE") for i in (0, 2)] == [61.0, -1.0]
    assert [value(data, i, "SEX") for i in (0, 2)] == [1.0, 0.0]
    assert value(data, 0, "BMI") == pytest.approx(81 / 1.8**2, rel=1e-5)
    report = check("mnms", root, shape=SHAPE)
    assert report.problems == [] and report.samples == 6
    assert any("unlabeled" in note for note in report.notes)
    assert len(load("mnms", "val", root, shape=SHAPE)) == 2


def test_ukbb_labels_pass_through_with_missing_as_minus_one(ukbb_root):
    root, labels = ukbb_root
    data = load("ukbb", root=root, shape=(13, 96, 96), use_cache=False)
    np.testing.assert_array_equal(data.attributes, labels)
    assert (data.column("AGE") == -1).all() and not data.has_masks.any()
    assert data.subjects[:2] == ("1000000", "1000000")
    stored = read_sample(root / "samples" / "1000000_ED.npy")["image"]
    np.testing.assert_allclose(data.images[0], stored, atol=1e-6)  # 96 x 96 -> 96 x 96
    assert [len(load("ukbb", s, root, shape=SHAPE)) for s in ("train", "val", "test")] == [2, 2, 2]


def test_ukbb_reader_never_runs_pickled_code(tmp_path):
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    path = tmp_path / "evil.npy"
    np.save(path, np.array([Payload()], dtype=object), allow_pickle=True)
    with pytest.raises(ReadError, match="refusing to load"):
        read_sample(path)
    assert not marker.exists()


def test_sunnybrook_series_ordered_by_header_not_file_number(sunnybrook_root):
    for patient in PATIENTS:
        files = sorted((sunnybrook_root / "dicoms" / patient.patient).glob("*.dcm"))
        problems = []
        cine = scan_cine(files, problems)
        assert problems == [] and len(cine.frames) == patient.locations
        assert all(len(frames) == patient.phases for frames in cine.frames)
        assert cine.spacing[0] == pytest.approx(SLICE_MM, abs=1e-3)  # not SliceLocation's 5 mm
        assert np.all(np.diff(cine.positions) > 0)


def test_sunnybrook_volumes_match_a_hand_computation(sunnybrook_root):
    data = load("sunnybrook", root=sunnybrook_root, shape=SHAPE, use_cache=False)
    assert_structure(data, 4)
    for k, patient in enumerate(PATIENTS):
        ed, es = hand_volumes(sunnybrook_root, patient.patient, patient.original)
        assert value(data, 2 * k, "LVEDV") == pytest.approx(ed, rel=0.03)
        assert value(data, 2 * k, "LVESV") == pytest.approx(es, rel=0.03)
        assert value(data, 2 * k, "RVEDV") == -1 and value(data, 2 * k + 1, "MYOESTHICK") == -1
    assert (value(data, 0, "AGE"), value(data, 0, "SEX")) == (60.0, 0.0)
    assert (value(data, 2, "AGE"), value(data, 2, "SEX")) == (-1.0, -1.0)


def test_sunnybrook_stack_is_turned_base_first(sunnybrook_root):
    # the fake stores the apex first; the loader must flip it (bigger sections first)
    data = load("sunnybrook", root=sunnybrook_root, shape=SHAPE)
    area = (data.masks[0] == 1).sum(axis=(1, 2))
    heart = np.flatnonzero(area)
    assert area[heart[0]] > area[heart[-1]]
