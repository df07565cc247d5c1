"""Mammography loaders on their fake layouts: labels, patients, patches centred on the mass."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from fixtures.fake_mammo import MASSES

from bench.datasets.checking import check
from bench.datasets.loading import load
from bench.datasets.real.mammo_png import label_of
from bench.datasets.real.vindr import malignancy


def assert_structure(data, n: int, size: int = 64) -> None:
    assert data.images.shape == (n, size, size) and data.images.dtype == np.float32
    assert data.labels.dtype == np.int64 and set(data.labels.tolist()) <= {0, 1}
    assert data.images.min() >= 0.0 and data.images.max() <= 1.0
    assert len(data.subjects) == n


def centre_contrast(images: np.ndarray) -> np.ndarray:
    """Mean of the central eighth minus the mean of the corners (a bright mass > 0)."""
    size = images.shape[-1]
    c = slice(size // 2 - size // 16, size // 2 + size // 16)
    corners = images[:, : size // 8, : size // 8].mean(axis=(1, 2))
    return images[:, c, c].mean(axis=(1, 2)) - corners


def test_cbis_ddsm_both_layouts(cbis_root):
    root, _ = cbis_root
    data = load("cbis-ddsm", root=root, shape=64, use_cache=False)
    assert_structure(data, len(MASSES))
    expected = [int(m.pathology == "MALIGNANT") for m in MASSES]  # BENIGN_WITHOUT_CALLBACK = 0
    assert data.labels.tolist() == expected
    assert data.subjects == tuple(m.patient for m in MASSES)
    assert (centre_contrast(data.images) > 0.2).all()  # the crop is centred on the ROI mask
    assert data.provenance.problems == ()
    assert len(load("cbis-ddsm", "test", root, shape=64)) == 2


def test_cbis_ddsm_check_counts_and_notes(cbis_root):
    root, _ = cbis_root
    report = check("cbis-ddsm", root, shape=64)
    assert (report.subjects, report.samples) == (5, 6)
    assert report.labels == {"benign": 3, "malignant": 3} and report.problems == []
    assert any("calcification" in note for note in report.notes)


def test_png_patches_labelled_from_their_names(png_root):
    root, paths = png_root
    data = load("mammo-png", root=root, shape=64, use_cache=False)
    assert_structure(data, len(paths))
    by_name = {p.name: int(p.name.endswith("is_benign_0.png")) for p in paths}
    names = sorted(paths, key=lambda p: str(p.relative_to(root)))
    assert data.labels.tolist() == [by_name[p.name] for p in names]
    assert all(s.startswith("cbis-ddsm:P_") for s in data.subjects)
    sizes = [len(load("mammo-png", s, root, shape=64)) for s in ("train", "val", "test")]
    assert sizes == [4, 2, 2]


def test_png_label_rule():
    assert label_of(Path("x/is_benign_true/a_is_benign_1.png")) == (0, "")
    assert label_of(Path("x/is_benign_true/a_is_benign_0.png"))[0] is None


def test_vindr_birads_rule_and_monochrome1(vindr_root):
    data = load("vindr-mammo", root=vindr_root, shape=64, use_cache=False)
    assert_structure(data, 3)  # masses only: no 'No Finding', no calcification-only row
    assert data.labels.tolist() == [1, 1, 0]  # BI-RADS 4, 5 malignant; 3 benign
    assert data.subjects == ("s1", "s1", "s2")
    assert (centre_contrast(data.images) > 0.2).all()  # MONOCHROME1 image inverted
    assert [malignancy(f"BI-RADS {k}") for k in (1, 2, 3, 4, 5)] == [None, 0, 0, 1, 1]
    assert len(load("vindr-mammo", "test", vindr_root, shape=64)) == 1


@pytest.mark.parametrize("size", [32, 128])
def test_patch_size_follows_the_task(png_root, size):
    root, paths = png_root
    assert load("mammo-png", root=root, shape=size).images.shape == (len(paths), size, size)
