"""The GroupNorm ResNet under opacus: exact per-sample gradients, every module covered."""

import copy

import pytest
import torch
import torch.nn.functional as F
from opacus import GradSampleModule

from classifiers.cnn import CNNConfig, ResNetGN

TINY = dict(image_size=16, width=8, groups=4)


def test_per_sample_gradients_equal_a_per_example_loop():
    torch.manual_seed(0)
    model = ResNetGN(CNNConfig(**TINY))
    reference = copy.deepcopy(model)
    x, y = torch.randn(4, 1, 16, 16), torch.tensor([0, 1, 1, 0])
    wrapped = GradSampleModule(model)
    F.cross_entropy(wrapped(x), y).backward()  # mean loss: opacus rescales by the batch size
    for name, p in model.named_parameters():
        assert p.grad_sample is not None, name
    for i in range(len(x)):  # the reference: one backward pass per example, unwrapped
        loss = F.cross_entropy(reference(x[i : i + 1]), y[i : i + 1])
        grads = torch.autograd.grad(loss, list(reference.parameters()))
        for (name, p), g in zip(model.named_parameters(), grads, strict=True):
            torch.testing.assert_close(p.grad_sample[i], g, atol=1e-5, rtol=1e-4, msg=name)


def test_every_trainable_module_has_a_grad_sampler_and_no_batch_norm():
    wrapped = GradSampleModule(ResNetGN(CNNConfig(**TINY)))
    modules = list(wrapped.iterate_submodules(wrapped._module))
    assert any(isinstance(m, torch.nn.GroupNorm) for m in modules)
    missing = [type(m).__name__ for m in modules if type(m) not in wrapped.GRAD_SAMPLERS]
    assert missing == []
    assert not any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in modules)


def test_shape_and_validation():
    config = CNNConfig(**TINY)
    assert config.dim == 64 and config.hidden == 32
    assert ResNetGN(config).backbone(torch.rand(2, 1, 16, 16)).shape == (2, 64)
    with pytest.raises(ValueError, match="not divisible by groups"):
        CNNConfig(width=12, groups=8)
