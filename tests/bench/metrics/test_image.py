"""SSIM equals scikit-image's structural_similarity in the Wang et al. 2004 settings."""

import numpy as np
import pytest

from bench.metrics.image import ssim


def _pair(shape, seed=15, noise=0.2, data_range=1.0):
    rng = np.random.default_rng(seed)
    x = rng.random(shape) * data_range
    return x, np.clip(x + noise * data_range * rng.standard_normal(shape), 0, data_range)


def test_pinned_scikit_image_values():
    # scikit-image 0.26: structural_similarity(x, y, data_range=1, gaussian_weights=True,
    # sigma=1.5, use_sample_covariance=False[, win_size=7 for 8 px]) on these pairs.
    rng = np.random.default_rng(15)
    x = rng.random((16, 16))
    y = np.clip(x + 0.2 * rng.standard_normal(x.shape), 0, 1)
    assert ssim(x, y) == pytest.approx(0.8244686020122663, abs=1e-13)
    x = rng.random((8, 8))
    y = np.clip(x + 0.2 * rng.standard_normal(x.shape), 0, 1)
    assert ssim(x, y) == pytest.approx(0.7983937995171664, abs=1e-13)


@pytest.mark.parametrize("shape", [(16, 16), (8, 8), (3, 5), (11, 11), (12, 20), (64, 48)])
@pytest.mark.parametrize("data_range", [1.0, 2.0])
def test_equals_scikit_image(shape, data_range):
    skimage_metrics = pytest.importorskip("skimage.metrics")
    x, y = _pair(shape, data_range=data_range)
    side = min(shape)
    window = min(11, side if side % 2 else side - 1)
    expected = skimage_metrics.structural_similarity(
        x, y, data_range=data_range, gaussian_weights=True, sigma=1.5,
        use_sample_covariance=False, win_size=window,
    )  # fmt: skip
    assert ssim(x, y, data_range) == pytest.approx(expected, abs=1e-13)


def test_identity_symmetry_and_bad_shapes():
    x, y = _pair((16, 16))
    assert ssim(x, x) == pytest.approx(1.0, abs=1e-15)
    assert ssim(x, y) == pytest.approx(ssim(y, x), abs=1e-15)
    with pytest.raises(ValueError, match="2D images"):
        ssim(x, y[:8])
    with pytest.raises(ValueError, match="3 x 3"):
        ssim(x[:2, :2], y[:2, :2])
