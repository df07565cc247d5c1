"""Every grad-sample mode of the ledger clips exactly as an explicit per-example loop.

The oracle of privacy rule 3 for the clipped sum itself, sum_i min(1, C / |g_i|) g_i,
which is what the noise is added to: it covers modes that never materialise per-sample
gradients (ghost) as well as those that do, on layers whose per-sample gradients take
different code paths (grouped and unfolded convolutions, 3-D convolutions, group norm,
an embedding as the first layer, a frozen parameter).
"""

import copy

import pytest
import torch
import torch.nn.functional as F
from opacus import GradSampleModule
from torch import nn

from bench.errors import BenchError
from bench.privacy.budget import PrivacyBudget
from bench.privacy.ledger import GRAD_SAMPLE_MODES, PrivacyLedger, PrivacyViolation

C = 0.5  # small enough that most samples are clipped, some not


class _ConvNet(nn.Module):
    """The class embedded as an extra channel (the GAN discriminator's layout), a grouped
    conv on 8 x 8 outputs (64 positions: fast-hooks' grouped path), group norm, a strided
    conv on 4 x 4 outputs (opacus's unfold path), a linear head."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(2, 64)
        self.conv1 = nn.Conv2d(2, 4, 3, 1, 1, groups=2)
        self.norm = nn.GroupNorm(2, 4)
        self.conv2 = nn.Conv2d(4, 6, 3, 2, 1)
        self.head = nn.Linear(6 * 16, 2)

    def forward(self, x, c):
        h = torch.cat([x, self.embed(c).view(-1, 1, 8, 8)], dim=1)
        h = F.gelu(self.conv2(F.gelu(self.norm(self.conv1(h)))))
        return self.head(h.flatten(1))


def _conv3d(_=None):
    return nn.Sequential(nn.Conv3d(1, 3, 3, 1, 1), nn.GELU(), nn.Flatten(), nn.Linear(192, 2))


def _mlp():
    return nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 2))


def _records(kind, n=256):
    g = torch.Generator().manual_seed(1)
    y = torch.randint(0, 2, (n,), generator=g)
    if kind == "conv2d":
        return torch.randn(n, 1, 8, 8, generator=g), torch.randint(0, 2, (n,), generator=g), y
    if kind == "conv3d":
        return torch.randn(n, 1, 4, 4, 4, generator=g), y
    return torch.randn(n, 8, generator=g), y


MODELS = {"conv2d": _ConvNet, "conv3d": _conv3d, "mlp": _mlp}


def _per_sample_loss(model, batch):
    *inputs, y = batch
    return F.cross_entropy(model(*inputs), y, reduction="none")


def _training(kind, mode, reduction="mean", freeze=False):
    torch.manual_seed(0)
    model = MODELS[kind]()
    if freeze:  # a frozen parameter must stay frozen and unclipped (attention-only tuning)
        model.head.bias.requires_grad_(False) if kind == "conv2d" else model[0].bias.requires_grad_(
            False
        )
    reference = copy.deepcopy(model)
    ledger = PrivacyLedger(PrivacyBudget(5.0, 1e-5), unit="one row")
    training = ledger.train(
        model, torch.optim.SGD(model.parameters(), lr=0.1), ledger.hold("private", *_records(kind)),
        batch_size=32, epochs=1, max_grad_norm=C, grad_sample_mode=mode, loss_reduction=reduction,
        noise_generator=torch.Generator().manual_seed(0),
    )  # fmt: skip
    return training, model, reference


def _clipped_sum(training, model, batch):
    """The clipped per-sample sum the mode computes (noise switched off for the oracle)."""
    optimizer = training.optimizer
    optimizer.noise_multiplier = 0.0
    optimizer.zero_grad()
    training.loss(_per_sample_loss(training.module, batch)).backward()
    optimizer.pre_step()  # clip, add zero noise, scale by the expected batch size if mean
    scale = optimizer.expected_batch_size if training.loss_reduction == "mean" else 1
    return [p.grad * scale for p in model.parameters() if p.requires_grad]


def _oracle(reference, batch):
    """sum_i min(1, C / (|g_i| + 1e-6)) g_i, one example at a time (opacus's clip factor)."""
    params = [p for p in reference.parameters() if p.requires_grad]
    total = [torch.zeros_like(p) for p in params]
    for i in range(len(batch[0])):
        grads = torch.autograd.grad(
            _per_sample_loss(reference, [t[i : i + 1] for t in batch])[0], params
        )
        norm = torch.sqrt(sum(g.pow(2).sum() for g in grads))
        factor = (C / (norm + 1e-6)).clamp(max=1.0)
        total = [t + factor * g for t, g in zip(total, grads, strict=True)]
    return total


_SUPPORTED = [
    (kind, mode)
    for kind in MODELS
    for mode in GRAD_SAMPLE_MODES
    if not (mode == "ew" and kind == "conv2d")  # torch's expanded weights lack torch.cat
]


@pytest.mark.parametrize(("kind", "mode"), _SUPPORTED)
def test_the_clipped_sum_equals_a_per_example_loop(kind, mode):
    training, model, reference = _training(kind, mode)
    batch = next(iter(training.data_loader))
    got = _clipped_sum(training, model, batch)
    for g, want in zip(got, _oracle(reference, batch), strict=True):
        torch.testing.assert_close(g, want, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("mode", ["fast-hooks", "ghost"])
def test_sum_reduction_and_a_frozen_parameter(mode):
    training, model, reference = _training("conv2d", mode, reduction="sum", freeze=True)
    batch = next(iter(training.data_loader))
    got = _clipped_sum(training, model, batch)
    assert model.head.bias.grad is None and not model.head.bias.requires_grad
    for g, want in zip(got, _oracle(reference, batch), strict=True):
        torch.testing.assert_close(g, want, atol=1e-5, rtol=1e-4)


def test_fast_hooks_leaves_opacus_hooks_mode_alone():
    """Its samplers belong to its own module: a plain ``hooks`` run (the reference methods'
    path, whose records are committed) keeps opacus's samplers."""
    samplers = dict(GradSampleModule.GRAD_SAMPLERS)
    training, model, _ = _training("conv2d", "fast-hooks")
    assert samplers == GradSampleModule.GRAD_SAMPLERS
    assert training.module.GRAD_SAMPLERS[nn.Conv2d] is not samplers[nn.Conv2d]
    assert all(p.requires_grad for p in model.parameters())  # flags restored after forward


def test_a_plain_backward_in_ghost_mode_is_refused():
    """A plain loss would leave the unclipped gradient for opacus's ghost optimizer to
    noise as if clipped: the step is refused, nothing moves and nothing is accounted."""
    training, model, _ = _training("mlp", "ghost")
    before = [p.detach().clone() for p in model.parameters()]
    x, y = next(iter(training.data_loader))
    F.cross_entropy(training.module(x), y).backward()
    with pytest.raises(PrivacyViolation, match="not clipped per sample"):
        training.optimizer.step()
    assert all(torch.equal(b, p) for b, p in zip(before, model.parameters(), strict=True))
    assert training.steps_taken() == 0
    training.optimizer.zero_grad()
    training.loss(_per_sample_loss(training.module, (x, y))).backward()
    training.optimizer.step()
    assert training.steps_taken() == 1


def test_training_loss_takes_per_sample_losses_only():
    training, _, _ = _training("mlp", "hooks")
    with pytest.raises(BenchError, match="one loss per sample"):
        training.loss(torch.tensor(1.0))
    with pytest.raises(BenchError, match="grad_sample_mode must be one of"):
        _training("mlp", "bookkeeping")


def test_fast_hooks_skips_the_summed_gradients_the_optimizer_overwrites():
    """Layers fed by gradient-carrying inputs run outside the graph: backward leaves their
    ``.grad`` empty (only per-sample gradients); the first layer (the embedding) keeps it."""
    training, model, _ = _training("conv2d", "fast-hooks")
    training.optimizer.zero_grad(set_to_none=True)
    batch = next(iter(training.data_loader))
    training.loss(_per_sample_loss(training.module, batch)).backward()
    assert model.embed.weight.grad is not None
    assert all(p.grad is None for p in [*model.conv1.parameters(), *model.head.parameters()])
    assert all(p.grad_sample.shape[0] == len(batch[0]) for p in model.parameters())


def _vit():
    from classifiers.vit import VisionTransformer, ViTConfig

    config = ViTConfig(image_size=16, patch_size=8, dim=16, depth=1, stem="conv")
    return VisionTransformer(config), (torch.randn(4, 1, 16, 16),)


def _discriminator():
    from generators.cgan import CGANConfig, Discriminator

    return Discriminator(CGANConfig(16, 8)), (torch.randn(4, 1, 16, 16), torch.randint(2, (4,)))


def _denoiser():
    from generators.ldm import LatentDenoiser
    from generators.ldm_config import DenoiserConfig

    latent = (1, 4, 8, 8)
    inputs = (torch.randn(4, *latent), torch.randint(0, 1000, (4,)), torch.rand(4, 14))
    return LatentDenoiser(DenoiserConfig.tiny(), latent), inputs


@pytest.mark.parametrize(
    "build", [_vit, _discriminator, pytest.param(_denoiser, marks=pytest.mark.slow)]
)
def test_fast_hooks_equals_hooks_on_the_reference_networks(build):
    """Same per-sample gradients as opacus's hooks for every parameter of the ViT (custom
    token sampler), the GAN discriminator (embedding first) and the 3-D diffusion UNet
    (time embedding and attribute context as further gradient-free inputs; slow: MONAI)."""
    model, inputs = build()
    grads = {}
    for mode in ("hooks", "fast-hooks"):
        ledger = PrivacyLedger(PrivacyBudget(5.0, 1e-5), unit="one row")
        net = copy.deepcopy(model).train()
        data = ledger.hold("private", *(t.repeat(4, *[1] * (t.dim() - 1)) for t in inputs))
        training = ledger.train(
            net, torch.optim.SGD(net.parameters(), lr=0.1), data, batch_size=4, epochs=1,
            max_grad_norm=1.0, grad_sample_mode=mode,
        )  # fmt: skip
        out = training.module(*inputs)
        training.loss(out.reshape(len(out), -1).pow(2).mean(1)).backward()
        grads[mode] = [p.grad_sample for p in net.parameters()]
    assert len(grads["hooks"]) == len(grads["fast-hooks"]) > 0
    for a, b in zip(grads["hooks"], grads["fast-hooks"], strict=True):
        torch.testing.assert_close(b, a, atol=1e-6, rtol=1e-4)
