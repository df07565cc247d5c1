"""Optimisation-based reconstruction: "Inverting Gradients" (Geiping et al., NeurIPS 2020).

The attacker knows the model weights before the step and the label; the task releases one
real DP-SGD update (batch size 1, summed cross-entropy), and the attacker searches for the
image whose gradient points the same way: it minimises
``1 - cos(grad(x_dummy), release) + tv_weight * TV(x_dummy)`` with Adam, keeping
``x_dummy`` in the data range [0, 1] by clamping, over several random restarts, and keeps
the restart with the lowest final objective. The cosine is blind to scale, so clipping
alone does not hinder it; the Gaussian noise does, and under strong DP the attack fails.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from attacks.models import SmallCNN
from bench.errors import BenchError
from bench.tasks.base import MethodContext
from bench.tasks.recon_attack.api import AttackView, Release


def total_variation(images: Tensor) -> Tensor:
    """Mean absolute difference of neighbouring pixels (anisotropic TV), over a (B, C, H, W) batch.

    Example:
        >>> float(total_variation(torch.tensor([[[[0.0, 1.0], [0.0, 1.0]]]])))
        1.0
    """
    dx = (images[..., :, 1:] - images[..., :, :-1]).abs().mean()
    dy = (images[..., 1:, :] - images[..., :-1, :]).abs().mean()
    return dx + dy


def sum_cross_entropy(outputs: Tensor, targets: Tensor | None) -> Tensor:
    # A sum, not a mean: the task's release runs with loss_reduction="sum".
    return F.cross_entropy(outputs, targets, reduction="sum")


class _Objective:
    """``1 - cos(grad(x), release) + tv_weight * TV(x)`` for a fixed model, label and release."""

    def __init__(self, model: nn.Module, label: Tensor, release: Mapping[str, Tensor], tv_weight):
        self.model, self.label, self.tv_weight = model, label, tv_weight
        self.names = list(release)
        params = dict(model.named_parameters())
        self.params: Sequence[Tensor] = [params[n] for n in self.names]
        self.release = torch.cat([release[n].flatten() for n in self.names])

    def __call__(self, dummy: Tensor, *, create_graph: bool) -> Tensor:
        loss = sum_cross_entropy(self.model(dummy), self.label)
        grads = torch.autograd.grad(loss, self.params, create_graph=create_graph)
        flat = torch.cat([g.flatten() for g in grads])
        cosine = F.cosine_similarity(flat, self.release, dim=0)
        return 1.0 - cosine + self.tv_weight * total_variation(dummy)


def _invert(objective: _Objective, shape, *, iterations: int, lr: float, generator):
    dummy = torch.rand(shape, generator=generator).requires_grad_()
    optimizer = torch.optim.Adam([dummy], lr=lr)
    for _ in range(iterations):
        # Differentiate w.r.t. the dummy only: backward() would also fill the model's .grad.
        (dummy.grad,) = torch.autograd.grad(objective(dummy, create_graph=True), dummy)
        optimizer.step()
        with torch.no_grad():
            dummy.clamp_(0.0, 1.0)  # box constraint: the data range is known
    final = float(objective(dummy, create_graph=False).detach())
    return dummy.detach()[0], final


class InvertingGradientsAttack:
    """The gradient-matching adversary: a classifier it controls and its optimiser settings.

    Args:
        model: the classifier (e.g. :class:`~attacks.models.SmallCNN`); the task releases
            updates of a copy, so ``model`` keeps the weights before the step.
        input_shape: the shape (C, H, W) of one image.
        iterations: Adam steps per restart.
        restarts: random initialisations; the best final objective wins.
        tv_weight: weight of the total-variation prior.
        lr: Adam learning rate.
        generator: source of the restarts (the attacker's own: never the release's noise).
    """

    loss = staticmethod(sum_cross_entropy)

    def __init__(
        self,
        model: nn.Module,
        input_shape: tuple[int, ...],
        *,
        iterations: int,
        restarts: int,
        tv_weight: float,
        lr: float,
        generator: torch.Generator,
    ) -> None:
        self.model, self.input_shape = model, tuple(input_shape)
        self.iterations, self.restarts = iterations, restarts
        self.tv_weight, self.lr, self.generator = tv_weight, lr, generator
        self.last_loss: float | None = None

    def reconstruct(self, release: Release) -> Tensor | None:
        """The best restart's image (C, H, W) in [0, 1]; None if the target was never sampled."""
        sampled = [u for u, hit in zip(release.updates, release.sampled, strict=True) if hit]
        if not sampled:
            return None
        mean = {n: torch.stack([u[n] for u in sampled]).mean(0) for n in sampled[0]}
        objective = _Objective(self.model, torch.tensor([release.label]), mean, self.tv_weight)
        shape, gen = (1, *self.input_shape), self.generator
        runs = [
            _invert(objective, shape, iterations=self.iterations, lr=self.lr, generator=gen)
            for _ in range(self.restarts)
        ]
        x_hat, self.last_loss = min(runs, key=lambda run: run[1])
        return x_hat


def run(ctx: MethodContext, view: AttackView, ledger) -> InvertingGradientsAttack:
    """``inverting-gradients``: a :class:`SmallCNN` of the view's input, seeded by the cell."""
    if view.knows != "label":
        raise BenchError(f"inverting gradients needs a 'label' threat model, not {view.knows}")
    config = ctx.config
    torch.manual_seed(ctx.derive_seed("model"))  # the initialisation the attacker chooses
    channels, side = view.input_shape[0], view.input_shape[-1]
    return InvertingGradientsAttack(
        SmallCNN(channels, side, view.classes),
        view.input_shape,
        iterations=config.iterations,
        restarts=config.restarts,
        tv_weight=config.tv_weight,
        lr=config.lr,
        generator=torch.Generator().manual_seed(ctx.derive_seed("restarts", ctx.cell.epsilon)),
    )
