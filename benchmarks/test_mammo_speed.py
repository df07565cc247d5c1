"""One DP-SGD step vs one non-private step of the mammo-cls ViT (pytest-benchmark).

    python -m pytest benchmarks/test_mammo_speed.py --benchmark-only

The small profile's ViT (64 x 64 patches, conv stem, 8 x 8 tokens, width 64, depth 4)
at the small profile's batch of 128, one torch thread. The DP step includes the
per-sample gradients (opacus hooks), clipping, noise and the AdamW update; the ratio of
the two medians goes into docs/mammo-cls.md with the peak memory measured by
``scripts/gpu_bench_mammo.py --device cpu``.
"""

import math

import pytest
import torch
import torch.nn.functional as F

from bench.privacy.budget import PrivacyBudget
from bench.privacy.ledger import PrivacyLedger
from classifiers.vit import VisionTransformer, ViTConfig

BATCH = 128


def _training(eps: float):
    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = VisionTransformer(ViTConfig(image_size=64, patch_size=8, dim=64, depth=4, stem="conv"))
    images = torch.rand(BATCH * 8, 1, 64, 64) * 2 - 1
    labels = torch.randint(0, 2, (BATCH * 8,))
    model.train()
    ledger = PrivacyLedger(PrivacyBudget(eps, 1e-4), unit="one image")
    training = ledger.train(
        model,
        torch.optim.AdamW(model.parameters(), lr=1e-3),
        ledger.hold("benchmark patches", images, labels),
        batch_size=BATCH,
        epochs=100,
        max_grad_norm=1.0,
        noise_generator=torch.Generator().manual_seed(0),
    )
    return training, images[:BATCH], labels[:BATCH]


def _step(training, x, y):
    training.optimizer.zero_grad(set_to_none=True)
    F.cross_entropy(training.module(x), y).backward()
    training.optimizer.step()


@pytest.mark.parametrize("eps", [8.0, math.inf], ids=["dp", "non-private"])
def test_vit_training_step(benchmark, eps):
    training, x, y = _training(eps)
    _step(training, x, y)  # warm-up (allocations, opacus hooks)
    benchmark.pedantic(_step, args=(training, x, y), rounds=10, iterations=1)
