"""The FID feature-extractor registry: the shipped encoder and the user-supplied Inception."""

import numpy as np
import pytest

from bench.checkpoints import file_sha256
from bench.errors import BenchError, UnknownNameError
from bench.metrics import extractors
from bench.metrics.extractors import EXTRACTORS, load_extractor
from bench.metrics.fid import fid


def test_registry():
    assert EXTRACTORS.names() == ["inception-v3", "phantom-encoder-v1"]
    with pytest.raises(UnknownNameError, match="did you mean"):
        load_extractor("phantom-encoder")


def test_shipped_encoder_matches_its_pinned_hash():
    assert file_sha256(extractors.PHANTOM_ENCODER_FILE) == extractors.PHANTOM_ENCODER_SHA256
    assert extractors.PHANTOM_ENCODER_FILE.stat().st_size < 2 * 2**20  # package data stays small


def test_encoder_features_are_deterministic_float64_and_size_agnostic():
    from bench.datasets.phantoms.mammo import make_mammo

    ext = load_extractor("phantom-encoder-v1")
    assert ext.identity() == {
        "name": "phantom-encoder-v1",
        "version": 1,
        "weights_sha256": extractors.PHANTOM_ENCODER_SHA256,
        "input_size": 64,
    }
    images = make_mammo(16, "private", size=32, seed=3).images
    a, b = ext.features(images), ext.features(images, batch_size=5)
    assert a.shape == (16, 128) and a.dtype == np.float64
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)  # batch size does not matter


def test_encoder_fid_separates_distributions():
    from bench.datasets.phantoms.mammo import make_mammo

    ext = load_extractor("phantom-encoder-v1")
    real = ext.features(make_mammo(200, "private", size=64, seed=0).images)
    same = ext.features(make_mammo(200, "private", size=64, seed=1).images)
    noise = ext.features(np.random.default_rng(0).uniform(0, 1, (200, 64, 64)))
    assert fid(real, same) < fid(real, noise) / 10


def test_a_tampered_encoder_file_is_refused(monkeypatch):
    monkeypatch.setattr(extractors, "PHANTOM_ENCODER_SHA256", "0" * 64)
    with pytest.raises(BenchError, match="pinned SHA-256"):
        load_extractor("phantom-encoder-v1")


def test_inception_needs_local_weights(tmp_path):
    with pytest.raises(BenchError, match="Nothing is downloaded"):
        load_extractor("inception-v3")
    bogus = tmp_path / "inception.pth"
    bogus.write_bytes(b"nope")
    with pytest.raises(BenchError, match="not a torchvision inception_v3 state dict"):
        load_extractor("inception-v3", str(bogus))
