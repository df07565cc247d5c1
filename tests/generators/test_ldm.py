"""The latent denoiser under DP-SGD: per-sample gradients, every parameter, accounting."""

import copy
import math

import pytest
import torch
import torch.nn.functional as F

from bench.privacy.budget import PrivacyBudget
from bench.privacy.ledger import PrivacyLedger
from generators.autoencoder import VolumeShapeError
from generators.conditioning import AttributeEmbedder, AttributeScaler, ConditioningError
from generators.ldm import (
    DenoiserConfig,
    DiffusionConfig,
    LatentDenoiser,
    drop_attributes,
    sample_latents,
    train_only_attention,
)
from generators.ldm_training import TrainSchedule, noise_only, train_denoiser

LATENT = (1, 3, 4, 4)  # odd depth: exercises the depth padding


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _model(seed=0):
    torch.manual_seed(seed)
    return LatentDenoiser(DenoiserConfig.tiny(), LATENT)


def _batch(n=3, seed=1):
    g = torch.Generator().manual_seed(seed)
    return (
        torch.randn((n, *LATENT), generator=g),
        torch.randint(0, 150, (n,), generator=g),
        torch.rand((n, 14), generator=g),
        torch.randn((n, *LATENT), generator=g),
    )


def test_per_sample_gradients_equal_a_per_example_loop():
    from opacus import GradSampleModule

    model = _model()
    reference = copy.deepcopy(model)
    z_t, t, attrs, noise = _batch()
    wrapped = GradSampleModule(model, batch_first=True, loss_reduction="mean")
    F.mse_loss(wrapped(z_t, t, attrs), noise).backward()
    params = dict(reference.named_parameters())
    for i in range(len(z_t)):
        reference.zero_grad()
        F.mse_loss(
            reference(z_t[i : i + 1], t[i : i + 1], attrs[i : i + 1]), noise[i : i + 1]
        ).backward()
        for name, p in model.named_parameters():
            expected = params[name].grad
            assert p.grad_sample is not None, name
            torch.testing.assert_close(p.grad_sample[i], expected, atol=1e-6, rtol=1e-4, msg=name)


def test_every_trainable_parameter_gets_a_per_sample_gradient():
    from opacus import GradSampleModule

    model = _model()
    z_t, t, attrs, noise = _batch()
    wrapped = GradSampleModule(model, batch_first=True, loss_reduction="mean")
    F.mse_loss(wrapped(z_t, t, attrs), noise).backward()
    names = [n for n, p in model.named_parameters() if p.requires_grad]
    assert any(n.startswith("embedder.") for n in names) and any("unet." in n for n in names)
    missing = [n for n, p in model.named_parameters() if getattr(p, "grad_sample", None) is None]
    assert not missing


def _train(budget, physical=64, epochs=1, n=24, seed=0, dtype=torch.float32, batch=8):
    model = _model(seed).to(dtype)
    g = torch.Generator().manual_seed(5)
    latents, attrs = torch.randn((n, *LATENT), generator=g), torch.rand((n, 14), generator=g)
    schedule = TrainSchedule(epochs=epochs, batch_size=batch, lr=1e-2, physical_batch=physical)
    ledger = PrivacyLedger(budget, unit="one volume")
    data = ledger.hold("private latents", latents.to(dtype), attrs.to(dtype))
    training = train_denoiser(
        model,
        data,
        ledger,
        schedule,
        DiffusionConfig(),
        seed=3,
        device="cpu",
    )
    return model, training


def test_one_dp_step_changes_every_parameter_and_epsilon_holds():
    before = [p.detach().clone() for p in _model().parameters()]
    model, training = _train(PrivacyBudget(5.0, 1e-5, "rdp"))
    after = list(model.parameters())
    assert all(not torch.equal(b, a) for b, a in zip(before, after, strict=True))
    assert training.steps_taken() == 3  # one epoch at q = 8/24
    assert 0 < training.achieved_epsilon() <= 5.0


def test_attention_only_fine_tuning_trains_exactly_the_attention_and_embedder():
    from opacus import GradSampleModule

    model = _model()
    trainable = train_only_attention(model)
    names = [n for n, p in model.named_parameters() if p.requires_grad]
    assert trainable == sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert all(n.startswith("embedder.") or ".attentions." in n for n in names)
    assert any(".attn2." in n for n in names) and any(n.startswith("embedder.") for n in names)
    z_t, t, attrs, noise = _batch()
    wrapped = GradSampleModule(model, batch_first=True, loss_reduction="mean")
    F.mse_loss(wrapped(z_t, t, attrs), noise).backward()
    for name, p in model.named_parameters():
        assert (getattr(p, "grad_sample", None) is not None) == p.requires_grad, name


def test_physical_chunks_give_the_same_update_as_one_batch(monkeypatch):
    # fixed timesteps and noise, so that the chunks draw nothing and only the batching differs
    def loss(model, z0, attrs, scheduler, generator):
        t = torch.full((len(z0),), 10)
        return F.mse_loss(model(z0, t, attrs), torch.sin(3 * z0))

    monkeypatch.setattr("generators.ldm_training.diffusion_loss", loss)
    for budget in (PrivacyBudget(5.0, 1e-5, "rdp"), PrivacyBudget(math.inf, 1e-5)):
        # float64: Adam divides by the gradient's magnitude, which would amplify float32
        # rounding differences between the two summation orders
        whole, _ = _train(budget, physical=64, n=12, batch=6, dtype=torch.float64)
        chunked, _ = _train(budget, physical=2, n=12, batch=6, dtype=torch.float64)
        for a, b in zip(whole.parameters(), chunked.parameters(), strict=True):
            torch.testing.assert_close(a, b, atol=1e-9, rtol=1e-7)


def test_an_empty_poisson_batch_is_a_noise_only_step():
    model = _model()
    ledger = PrivacyLedger(PrivacyBudget(5.0, 1e-5, "rdp"), unit="one volume")
    data = ledger.hold("private records", torch.zeros(10, 1))
    opt = torch.optim.SGD(model.parameters(), lr=1.0)
    training = ledger.train(model, opt, data, batch_size=5, epochs=1, max_grad_norm=1.0)
    before = [p.detach().clone() for p in model.parameters()]
    noise_only(training.optimizer)
    training.optimizer.step()
    assert training.steps_taken() == 1
    assert all(not torch.equal(b, a) for b, a in zip(before, model.parameters(), strict=True))


@pytest.mark.parametrize("sampler", ["ddim", "ddpm"])
def test_sampling_is_seeded_and_guidance_runs(sampler):
    model = _model().eval()
    with torch.no_grad():  # MONAI zero-initialises the output layer: make eps depend on inputs
        for p in model.parameters():
            p.add_(0.1 * torch.randn_like(p))
    attrs = torch.rand(2, 14)
    kw = dict(sampler=sampler, steps=4, generator=None)
    runs = [
        sample_latents(model, attrs, LATENT, DiffusionConfig(), **{**kw, "generator": g})
        for g in (torch.Generator().manual_seed(0), torch.Generator().manual_seed(0))
    ]
    assert runs[0].shape == (2, *LATENT) and torch.equal(runs[0], runs[1])
    guided = sample_latents(model, attrs, LATENT, DiffusionConfig(), guidance=2.0,
                            **{**kw, "generator": torch.Generator().manual_seed(0)})  # fmt: skip
    assert torch.isfinite(guided).all() and not torch.equal(guided, runs[0])


def test_attribute_dropout_replaces_whole_rows_by_missing():
    attrs = torch.rand(200, 14)
    dropped = drop_attributes(attrs, 0.5, torch.Generator().manual_seed(0))
    rows = (dropped == -1).all(dim=1)
    assert 60 < int(rows.sum()) < 140
    assert torch.equal(dropped[~rows], attrs[~rows])


def test_wrong_attribute_count_is_a_clear_error():
    with pytest.raises(ConditioningError, match=r"shape \(batch, 14\).*got shape \(2, 13\)"):
        AttributeEmbedder()(torch.zeros(2, 13))
    with pytest.raises(ConditioningError, match="LVEDV"):
        AttributeScaler.fit(torch.zeros(4, 12).numpy())


def test_a_latent_the_unet_cannot_take_is_a_clear_error():
    with pytest.raises(VolumeShapeError, match="multiple of 2"):
        LatentDenoiser(DenoiserConfig.tiny(), (1, 3, 5, 4))
