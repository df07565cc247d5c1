"""The frozen in-plane autoencoder and the public attribute normalisation."""

import numpy as np
import pytest
import torch

from generators.autoencoder import (
    InPlaneAutoencoder,
    VolumeShapeError,
    check_volume_shape,
    decode_latents,
    encode_volumes,
    latent_scale,
    train_autoencoder,
)
from generators.conditioning import MISSING, AttributeScaler, ConditioningError
from generators.ldm_config import AutoencoderConfig

TINY = AutoencoderConfig(channels=(4, 8, 8), epochs=3, batch_size=4, lr=3e-3)


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_latent_is_one_channel_at_quarter_in_plane_size_and_output_in_unit_range():
    torch.manual_seed(0)
    model = InPlaneAutoencoder(TINY)
    mean, logvar = model.encode(torch.rand(2, 1, 13, 24, 24))
    assert mean.shape == logvar.shape == (2, 1, 13, 6, 6)
    out = model.decode(torch.randn(2, 1, 13, 6, 6))
    assert out.shape == (2, 1, 13, 24, 24) and out.min() >= 0 and out.max() <= 1


def test_convolutions_act_in_plane_only():
    # The paper's design: a slice's latent depends on that slice alone.
    torch.manual_seed(0)
    model = InPlaneAutoencoder(TINY).eval()
    x = torch.rand(1, 1, 4, 16, 16)
    y = x.clone()
    y[0, 0, 0] = torch.rand(16, 16)
    with torch.no_grad():
        a, b = model.encode(x)[0], model.encode(y)[0]
    assert not torch.equal(a[:, :, 0], b[:, :, 0])
    assert torch.equal(a[:, :, 1:], b[:, :, 1:])


@pytest.mark.parametrize("shape", [(13, 90, 96), (13, 96, 2), (13, 96), (0, 96, 96)])
def test_a_shape_the_autoencoder_cannot_take_is_a_clear_error(shape):
    with pytest.raises(VolumeShapeError, match=r"multiples of 4 \(e.g. \(13, 96, 96\)\)"):
        check_volume_shape(shape)


def test_encoding_a_bad_volume_raises_before_any_convolution():
    with pytest.raises(VolumeShapeError, match=r"\(3, 18, 16\)"):
        InPlaneAutoencoder(TINY).encode(torch.zeros(1, 1, 3, 18, 16))


def test_training_reconstructs_better_than_at_init_and_returns_a_frozen_model():
    from bench.datasets.loading import load

    data = load("phantom-cardiac", "public", shape=(4, 16, 16), n=8, seed=0).images
    config = AutoencoderConfig(channels=(4, 8, 8), epochs=10, batch_size=4, lr=3e-3)
    torch.manual_seed(0)
    untrained = InPlaneAutoencoder(config).eval()
    model = train_autoencoder(data, config, seed=0, device="cpu")
    assert not model.training and not any(p.requires_grad for p in model.parameters())

    def error(m):
        rec = decode_latents(m, encode_volumes(m, data, "cpu"), "cpu")
        return float(np.mean((rec - data) ** 2))

    assert error(model) < 0.6 * error(untrained)


def test_same_seed_gives_the_same_autoencoder():
    data = np.random.default_rng(0).random((4, 2, 8, 8)).astype(np.float32)
    a, b = (train_autoencoder(data, TINY, seed=1, device="cpu") for _ in range(2))
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(p, q)


def test_latent_scale_gives_unit_standard_deviation():
    latents = 3.0 * torch.randn(50, 1, 4, 4, 4, generator=torch.Generator().manual_seed(0))
    assert float((latents * latent_scale(latents)).std(unbiased=False)) == pytest.approx(1.0)


def test_attribute_scaler_uses_public_range_and_keeps_missing():
    public = np.array([[1.0] * 14, [3.0] * 14, [MISSING] * 14], np.float32)
    scaler = AttributeScaler.fit(public)  # a missing value never enters the statistics
    assert scaler.low == (1.0,) * 14 and scaler.high == (3.0,) * 14
    private = np.array([[2.0] * 13 + [MISSING], [5.0] * 14], np.float32)
    scaled = scaler.transform(private)
    assert scaled[0, 0] == 0.5 and scaled[0, 13] == MISSING and scaled[1, 0] == 2.0


def test_attribute_scaler_rejects_a_wrong_attribute_count():
    scaler = AttributeScaler.fit(np.zeros((2, 14), np.float32))
    with pytest.raises(ConditioningError, match="got shape \\(3, 15\\)"):
        scaler.transform(np.zeros((3, 15), np.float32))
