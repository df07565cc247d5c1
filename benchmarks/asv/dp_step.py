"""One DP-SGD step (per-sample gradients, clipping, noise) per reference model, vs a plain step.

A model whose package is not there yet (or changed its constructor) is skipped, not failed:
asv treats NotImplementedError in ``setup`` as "not applicable".
"""

from __future__ import annotations

import torch

BATCH = 16


def _small_cnn():
    from attacks.models import SmallCNN

    return SmallCNN(1, 16, 2), 16  # the inverting-gradients model, 16 x 16 inputs


def _vit_tiny():
    from classifiers.vit import VisionTransformer, ViTConfig

    return VisionTransformer(ViTConfig(image_size=32, patch_size=4, dim=64, depth=4)), 32


MODELS = {"small-cnn": _small_cnn, "vit-tiny": _vit_tiny}


def build(name: str) -> tuple[torch.nn.Module, int]:
    """The model and its input side; NotImplementedError (asv: skipped) if it is absent."""
    try:
        return MODELS[name]()
    except (ImportError, AttributeError, TypeError) as exc:
        raise NotImplementedError(f"model {name} is not available: {exc}") from None


class TimeDPStep:
    """``opacus`` GradSampleModule + DPOptimizer step on a batch of 16 grayscale images."""

    params = (list(MODELS), ["dp", "non-private"])
    param_names = ("model", "mode")

    def setup(self, name: str, mode: str) -> None:
        from opacus import GradSampleModule
        from opacus.optimizers import DPOptimizer

        torch.set_num_threads(1)
        torch.manual_seed(0)
        model, side = build(name)
        self.x = torch.rand(BATCH, 1, side, side)
        self.y = torch.randint(0, 2, (BATCH,))
        optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
        if mode == "dp":
            model = GradSampleModule(model)
            optimizer = DPOptimizer(
                optimizer, noise_multiplier=1.0, max_grad_norm=1.0, expected_batch_size=BATCH
            )
        self.model, self.optimizer = model, optimizer

    def time_step(self, name: str, mode: str) -> None:
        self.optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(self.model(self.x), self.y)
        loss.backward()
        self.optimizer.step()

    def peakmem_step(self, name: str, mode: str) -> None:
        self.time_step(name, mode)
