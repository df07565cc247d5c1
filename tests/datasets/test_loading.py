"""One ``load`` for phantoms and real data; the cache of preprocessed arrays; content hashes."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from fixtures import fake_cardiac, fake_mammo

from bench.datasets import DATASETS, require_root
from bench.datasets.cache import cache_dir, fingerprint
from bench.datasets.loading import describe, load
from bench.datasets.phantoms.cardiac import make_cardiac
from bench.datasets.phantoms.mammo import make_mammo
from bench.datasets.types import CardiacSet, MammoSet
from bench.errors import DatasetError

SHAPE = (13, 32, 32)


def test_phantoms_through_load_are_the_phantoms():
    cardiac = load("phantom-cardiac", shape=(8, 32, 32), n=4, seed=3)
    reference = make_cardiac(4, "private", shape=(8, 32, 32), seed=3)
    assert isinstance(cardiac, CardiacSet) and cardiac.variant == "private"
    np.testing.assert_array_equal(cardiac.images, reference.images)
    np.testing.assert_array_equal(cardiac.attributes, reference.attributes)
    mammo = load("phantom-mammo", "external", shape=32, n=4, seed=3)
    assert isinstance(mammo, MammoSet)
    np.testing.assert_array_equal(mammo.images, make_mammo(4, "external", size=32, seed=3).images)


def test_every_real_dataset_is_registered_with_its_metadata():
    real = [name for name in DATASETS if not DATASETS.get(name).builtin]
    assert set(real) == {
        *("ukbb", "acdc", "mnms", "sunnybrook"),
        *("cbis-ddsm", "mammo-png", "mammo-synthetic-png", "vindr-mammo"),
    }
    for name in real:
        spec = DATASETS.get(name)
        assert spec.needs_root and spec.layout and spec.licence and spec.url and spec.loader
        assert spec.variants[0] == "all" == spec.default_variant


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "acdc"}, "dataset 'acdc' needs --data-root DIR"),
        ({"name": "acdc", "root": "/nonexistent/acdc"}, "is not a folder"),
        ({"name": "phantom-cardiac", "variant": "train", "n": 2}, "has no variant 'train'"),
        ({"name": "phantom-mammo"}, "say how many samples"),
        ({"name": "phantom-mammo", "shape": (2, 2), "n": 2}, "bad mammo shape"),
    ],
)
def test_clear_errors(kwargs, message):
    with pytest.raises(DatasetError, match=message):
        load(**kwargs)


def test_second_load_hits_the_cache(tmp_path):
    fake_cardiac.make_acdc(tmp_path)
    first = load("acdc", root=tmp_path, shape=SHAPE)
    second = load("acdc", root=tmp_path, shape=SHAPE)
    assert not first.provenance.from_cache and second.provenance.from_cache
    assert first.provenance.root_hash == second.provenance.root_hash
    for field in ("images", "masks", "attributes", "slice_mm", "has_masks"):
        np.testing.assert_array_equal(getattr(first, field), getattr(second, field))
    assert first.subjects == second.subjects and first.spacing_mm == second.spacing_mm
    assert len(list(cache_dir("datasets", "acdc").glob("*.npz"))) >= 1
    other_shape = load("acdc", root=tmp_path, shape=(13, 24, 24))
    assert not other_shape.provenance.from_cache  # the shape is part of the key


def test_changed_data_miss_the_cache(tmp_path):
    fake_mammo.make_png(tmp_path)
    before = load("mammo-png", root=tmp_path, shape=32)
    path = sorted(tmp_path.rglob("*.png"))[0]
    path.write_bytes(path.read_bytes() + b"\0")  # same name, other content
    after = load("mammo-png", root=tmp_path, shape=32)
    assert after.provenance.root_hash != before.provenance.root_hash
    assert not after.provenance.from_cache


def test_problems_survive_the_cache_and_are_logged(tmp_path, caplog):
    paths = fake_mammo.make_png(tmp_path)
    paths[0].rename(paths[0].with_name("nolabel.png"))
    first = load("mammo-png", root=tmp_path, shape=32)
    caplog.clear()
    second = load("mammo-png", root=tmp_path, shape=32)
    assert second.provenance.from_cache
    assert second.provenance.problems == first.provenance.problems != ()
    assert "nolabel.png: file name carries no is_benign_0 / is_benign_1 label" in caplog.text


def test_a_torn_cache_entry_is_rebuilt(tmp_path):
    fake_mammo.make_png(tmp_path)
    load("mammo-png", root=tmp_path, shape=16)
    for entry in cache_dir("datasets", "mammo-png").glob("*.npz"):
        entry.write_bytes(b"not an npz")
    assert not load("mammo-png", root=tmp_path, shape=16).provenance.from_cache


def test_content_hash_follows_content_not_location(tmp_path):
    fake_mammo.make_png(tmp_path / "a")
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    a, b = describe("mammo-png", tmp_path / "a"), describe("mammo-png", tmp_path / "b")
    assert a["root_content_hash"] == b["root_content_hash"] and a["name"] == "mammo-png"
    files = sorted((tmp_path / "b").rglob("*.png"))
    files[-1].write_bytes(files[-1].read_bytes()[:-10])
    assert fingerprint(tmp_path / "b", files) != b["root_content_hash"]
    files[0].unlink()  # a missing file counts as missing
    assert fingerprint(tmp_path / "b", files) != fingerprint(tmp_path / "b", files[1:])
    assert describe("phantom-cardiac", None) == {"name": "phantom-cardiac", "builtin": True}


def test_require_root_names_the_flag(tmp_path):
    with pytest.raises(DatasetError, match="needs --public-data-root DIR"):
        require_root("sunnybrook", None, "--public-data-root")
    assert require_root("sunnybrook", tmp_path).modality == "cardiac"
