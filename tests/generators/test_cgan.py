"""The conditional DCGAN: shapes, exact per-sample discriminator gradients, DP training."""

import copy
import math

import pytest
import torch
import torch.nn.functional as F
from opacus import GradSampleModule

from bench.privacy.budget import PrivacyBudget
from bench.privacy.ledger import PrivacyLedger
from generators.cgan import (
    CGANConfig,
    Discriminator,
    GANSchedule,
    Generator,
    Selection,
    discriminator_loss,
    frozen,
    sample,
    train_cgan,
)


@pytest.mark.parametrize(("size", "layers"), [(16, 3), (32, 4), (64, 5), (128, 6)])
def test_shapes_follow_the_image_size(size, layers):
    config = CGANConfig(image_size=size, width=4)
    g, d = Generator(config), Discriminator(config)
    labels = torch.tensor([0, 1, 1])
    x = g(torch.randn(3, config.nz), labels)
    assert x.shape == (3, 1, size, size) and x.abs().max() <= 1
    assert d(x, labels).shape == (3,)
    transposed = [m for m in g.modules() if isinstance(m, torch.nn.ConvTranspose2d)]
    assert len(transposed) == layers  # the paper's 128 x 128 model has six


def test_paper_widths_at_128():
    assert CGANConfig(image_size=128, width=64).channels() == [1024, 512, 256, 128, 64]
    with pytest.raises(ValueError, match="power of two"):
        CGANConfig(image_size=48)


def test_discriminator_per_sample_gradients_equal_a_per_example_loop():
    torch.manual_seed(0)
    d = Discriminator(CGANConfig(image_size=16, width=8))
    reference = copy.deepcopy(d)
    x, labels = torch.randn(6, 1, 16, 16), torch.tensor([0, 1, 0, 1, 1, 0])
    target = torch.rand(6)
    wrapped = GradSampleModule(d)
    F.binary_cross_entropy_with_logits(wrapped(x, labels), target).backward()
    for i in range(6):
        loss = F.binary_cross_entropy_with_logits(
            reference(x[i : i + 1], labels[i : i + 1]), target[i : i + 1]
        )
        grads = torch.autograd.grad(loss, list(reference.parameters()))
        for (name, p), g in zip(d.named_parameters(), grads, strict=True):
            assert p.grad_sample is not None, name
            torch.testing.assert_close(p.grad_sample[i], g, atol=1e-5, rtol=1e-4, msg=name)
    # the class channel is an Embedding: only the rows of the classes present get gradient
    assert d.embed.weight.grad_sample[0, 1].abs().sum() == 0


def test_generator_step_leaves_the_discriminator_alone():
    config = CGANConfig(image_size=16, width=4)
    g, d = Generator(config), GradSampleModule(Discriminator(config))
    labels = torch.tensor([0, 1])
    with frozen(d):
        F.softplus(-d(g(torch.randn(2, config.nz), labels), labels)).mean().backward()
    assert all(p.grad is None and getattr(p, "grad_sample", None) is None for p in d.parameters())
    assert all(p.requires_grad for p in d.parameters())
    assert all(p.grad is not None for p in g.parameters())


def test_discriminator_loss_counts_real_and_fake():
    d = Discriminator(CGANConfig(image_size=16, width=4))
    real, fake = torch.zeros(3, 1, 16, 16), torch.zeros(5, 1, 16, 16)
    loss = discriminator_loss(
        d,
        real,
        torch.zeros(3, dtype=torch.long),
        fake,
        torch.zeros(5, dtype=torch.long),
        smooth=1.0,
    )
    assert loss.ndim == 0 and math.isfinite(float(loss))


@pytest.mark.parametrize("eps", [4.0, math.inf])
def test_train_cgan_accounts_for_the_discriminator(eps):
    torch.manual_seed(0)
    config = CGANConfig(image_size=16, width=4)
    g, d = Generator(config), Discriminator(config)
    images, labels = torch.rand(64, 1, 16, 16) * 2 - 1, torch.arange(64) % 2
    ledger = PrivacyLedger(PrivacyBudget(eps, 1e-5), unit="one image")
    data = ledger.hold("toy", images, labels)
    d_before = [p.detach().clone() for p in d.parameters()]
    schedule = GANSchedule(epochs=2, batch_size=16)
    training = train_cgan(g, d, data, schedule, ledger=ledger)
    assert all(not torch.equal(b, a) for b, a in zip(d_before, d.parameters(), strict=True))
    if math.isfinite(eps):
        assert training.steps_taken() == 2 * 4
        assert 0 < training.achieved_epsilon() <= eps
    else:
        assert training.engine is None
    (run,) = ledger.runs
    assert run["name"] == "cGAN discriminator training"


def test_train_cgan_on_public_tensors_needs_no_ledger():
    torch.manual_seed(0)
    config = CGANConfig(image_size=16, width=4)
    g, d = Generator(config), Discriminator(config)
    images, labels = torch.rand(32, 1, 16, 16) * 2 - 1, torch.arange(32) % 2
    training = train_cgan(g, d, (images, labels), GANSchedule(epochs=1, batch_size=16))
    assert not training.is_private and training.steps_taken() == 0


def test_sample_is_balanced_and_in_range():
    g = Generator(CGANConfig(image_size=16, width=4))
    images, labels = sample(g, 5, seed=0)
    assert images.shape == (10, 16, 16) and images.min() >= 0 and images.max() <= 1
    assert labels.tolist() == [0] * 5 + [1] * 5
    again, _ = sample(g, 5, seed=0)
    assert torch.equal(images, again)


def test_selection_restores_the_best_snapshot():
    torch.manual_seed(0)
    config = CGANConfig(image_size=16, width=4)
    g, d = Generator(config), Discriminator(config)
    images, labels = torch.rand(32, 1, 16, 16) * 2 - 1, torch.arange(32) % 2
    snapshots = {}

    def score(gen):  # a public-data score; here: prefer the first snapshot
        snapshots[len(snapshots) + 1] = copy.deepcopy(gen.state_dict())
        return float(len(snapshots))

    select = Selection(score, every=1)
    train_cgan(g, d, (images, labels), GANSchedule(epochs=3, batch_size=16), select=select)
    assert [e for e, _ in select.history] == [1, 2, 3] and select.best_epoch == 1
    assert all(torch.equal(v, snapshots[1][k]) for k, v in g.state_dict().items())
