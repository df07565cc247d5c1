"""MS-SSIM equals pytorch_msssim.ms_ssim on study A's upsampled slices."""

import numpy as np
import pytest

from bench.metrics.msssim import ms_ssim_2d, ms_ssim_volumes, upsampling_factor


def _pair(shape, seed=15):
    rng = np.random.default_rng(seed)
    a = rng.random(shape)
    return a, np.clip(a + 0.2 * rng.standard_normal(shape), 0, 1)


def test_pinned_pytorch_msssim_values():
    # pytorch_msssim 1.0 ms_ssim(data_range=1) with a float64 window, on the slices resized
    # by torchvision's Resize(192) as study A does, averaged over the two slices.
    a, b = _pair((2, 2, 24, 24))
    np.testing.assert_allclose(ms_ssim_volumes(a, b), [0.79743521, 0.78504557], atol=5e-9)


@pytest.mark.parametrize("side", [161, 175, 192])
def test_equals_pytorch_msssim(side):
    torch = pytest.importorskip("torch")
    pytorch_msssim = pytest.importorskip("pytorch_msssim")
    from bench.metrics.msssim import _window

    x, y = _pair((3, side, side + 6))
    win = torch.tensor(_window())[None, None, None]  # its window, in float64
    expected = pytorch_msssim.ms_ssim(
        torch.tensor(x)[:, None], torch.tensor(y)[:, None], data_range=1.0,
        size_average=False, win=win,
    )  # fmt: skip
    np.testing.assert_allclose(ms_ssim_2d(x, y), expected.numpy().ravel(), atol=1e-13)


def test_upsampling_is_torchvision_resize():
    torch = pytest.importorskip("torch")
    transforms = pytest.importorskip("torchvision.transforms")
    from bench.metrics.msssim import _upsample_axis

    v = np.random.default_rng(1).random((2, 3, 24, 24))
    expected = transforms.Resize(192)(torch.tensor(v)).numpy()
    np.testing.assert_allclose(_upsample_axis(_upsample_axis(v, 8, -2), 8, -1), expected,
                               atol=1e-14)  # fmt: skip


def test_factor_takes_every_side_above_160():
    assert [upsampling_factor(s) for s in (96, 80, 40, 160, 161, 16)] == [2, 4, 8, 2, 1, 16]
    with pytest.raises(ValueError, match="sides > 160"):
        ms_ssim_2d(*_pair((2, 160, 200)))


def test_chunks_of_pairs_change_no_bit(monkeypatch):
    """Pairs are scored a chunk at a time to bound memory (all 300 pairs of a cardiac cell
    at once took 12 GB); a pair's score must not depend on its chunk."""
    from bench.metrics import msssim

    rng = np.random.default_rng(1)
    a = rng.random((7, 2, 24, 20))
    b = np.clip(a + 0.3 * rng.standard_normal(a.shape), 0, 1)
    whole = ms_ssim_volumes(a, b)
    monkeypatch.setattr(msssim, "CHUNK_VOXELS", 1)  # one pair per chunk
    assert np.array_equal(ms_ssim_volumes(a, b), whole)
    monkeypatch.setattr(msssim, "CHUNK_VOXELS", 3 * 2 * 24 * 20 * 8**2)  # 3, 3, then 1
    assert np.array_equal(ms_ssim_volumes(a, b), whole)
