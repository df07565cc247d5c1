"""The ViT under opacus: exact per-sample gradients in every parameter, no functorch fallback."""

import copy
import math

import pytest
import torch
import torch.nn.functional as F
from opacus import GradSampleModule

from bench.privacy.budget import PrivacyBudget
from bench.privacy.ledger import PrivacyLedger
from classifiers.vit import TokenEmbedding, VisionTransformer, ViTConfig

TINY = dict(image_size=16, patch_size=4, dim=16, depth=2, heads=2)


def _per_example_grads(model, x, y):
    """The reference: one backward pass per example, on an unwrapped copy."""
    grads = []
    for i in range(len(x)):
        loss = F.cross_entropy(model(x[i : i + 1]), y[i : i + 1])
        params = [p for p in model.parameters() if p.requires_grad]
        grads.append(torch.autograd.grad(loss, params))
    return [torch.stack(g) for g in zip(*grads, strict=True)]


@pytest.mark.parametrize("stem", ["patch", "conv"])
def test_per_sample_gradients_equal_a_per_example_loop(stem):
    torch.manual_seed(0)
    model = VisionTransformer(ViTConfig(**TINY, stem=stem))
    reference = copy.deepcopy(model)
    x, y = torch.randn(5, 1, 16, 16), torch.tensor([0, 1, 1, 0, 1])
    wrapped = GradSampleModule(model)
    F.cross_entropy(wrapped(x), y).backward()  # mean loss: opacus rescales by the batch size
    expected = _per_example_grads(reference, x, y)
    names = [n for n, _ in model.named_parameters()]
    assert "backbone.tokens.cls_token" in names and "backbone.tokens.pos_embed" in names
    for name, p, ref in zip(names, model.parameters(), expected, strict=True):
        assert p.grad_sample is not None, name
        torch.testing.assert_close(p.grad_sample, ref, atol=1e-5, rtol=1e-4, msg=name)


def test_every_trainable_module_has_a_grad_sampler():
    # A module with parameters but no grad sampler sends opacus to functorch for its
    # whole subtree (TRAPS.md: the cls token / position embedding of MONAI's ViT).
    wrapped = GradSampleModule(VisionTransformer(ViTConfig(**TINY, stem="conv")))
    modules = list(wrapped.iterate_submodules(wrapped._module))
    assert any(isinstance(m, TokenEmbedding) for m in modules)
    missing = [type(m).__name__ for m in modules if type(m) not in wrapped.GRAD_SAMPLERS]
    assert missing == []


def _dp_step(model, eps=5.0):
    ledger = PrivacyLedger(PrivacyBudget(eps, 1e-5), unit="one image")
    data = ledger.hold("toy", torch.randn(64, 1, 16, 16), torch.randint(0, 2, (64,)))
    params = [p for p in model.parameters() if p.requires_grad]
    model.train()
    training = ledger.train(
        model,
        torch.optim.SGD(params, lr=0.1),
        data,
        batch_size=16,
        epochs=1,
        max_grad_norm=1.0,
        noise_generator=torch.Generator().manual_seed(0),
    )
    x, y = next(iter(training.data_loader))
    F.cross_entropy(training.module(x), y).backward()
    training.optimizer.step()
    return training


def test_one_dp_step_changes_every_trainable_parameter():
    torch.manual_seed(0)
    model = VisionTransformer(ViTConfig(**TINY, stem="conv"))
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    training = _dp_step(model)
    assert training.steps_taken() == 1 and 0 < training.achieved_epsilon() <= 5.0
    unchanged = [n for n, p in model.named_parameters() if torch.equal(before[n], p)]
    assert unchanged == []


def test_frozen_backbone_trains_the_head_only():
    torch.manual_seed(0)
    model = VisionTransformer(ViTConfig(**TINY)).freeze_backbone()
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    _dp_step(model)
    changed = {n for n, p in model.named_parameters() if not torch.equal(before[n], p)}
    assert changed == {n for n, _ in model.head.named_parameters(prefix="head")}


def test_reset_head_is_seeded_and_leaves_the_backbone():
    model = VisionTransformer(ViTConfig(**TINY))
    backbone = copy.deepcopy(model.backbone.state_dict())
    a = copy.deepcopy(model).reset_head(3).head.state_dict()
    b = copy.deepcopy(model).reset_head(3).head.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert all(torch.equal(backbone[k], v) for k, v in model.backbone.state_dict().items())


def test_config_is_validated():
    with pytest.raises(ValueError, match="multiple"):
        ViTConfig(image_size=30, patch_size=4)
    with pytest.raises(ValueError, match="divisible"):
        ViTConfig(dim=30, heads=4)
    assert ViTConfig(image_size=64, patch_size=8).tokens == 65
    assert math.isclose(ViTConfig(dim=64).hidden, 32)
