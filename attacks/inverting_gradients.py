"""Optimisation-based reconstruction: "Inverting Gradients" (Geiping et al., NeurIPS 2020).

The attacker knows the model weights before the step and the label, observes one real DP-SGD
release (batch size 1, summed cross-entropy) and searches for the image whose gradient points the
same way: it minimises ``1 - cos(grad(x_dummy), release) + tv_weight * TV(x_dummy)`` with Adam,
keeping ``x_dummy`` in the data range [0, 1] by clamping, over several random restarts, and keeps
the restart with the lowest final objective. The cosine is blind to scale, so clipping alone does
not hinder it; the Gaussian noise does, and under strong DP the attack fails.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from opacus.accountants import IAccountant
from torch import Tensor, nn

from attacks.dp_step import dp_step


@dataclass(frozen=True)
class IGResult:
    """One inverting-gradients attack.

    Attributes:
        x_hat: The reconstruction, shape (C, H, W), in [0, 1].
        loss: The attack objective of the kept restart at its end.
    """

    x_hat: Tensor
    loss: float


def total_variation(images: Tensor) -> Tensor:
    """Mean absolute difference of neighbouring pixels (anisotropic TV), over a (B, C, H, W) batch.

    Example:
        >>> float(total_variation(torch.tensor([[[[0.0, 1.0], [0.0, 1.0]]]])))
        1.0
    """
    dx = (images[..., :, 1:] - images[..., :, :-1]).abs().mean()
    dy = (images[..., 1:, :] - images[..., :-1, :]).abs().mean()
    return dx + dy


def _sum_cross_entropy(outputs: Tensor, targets: Tensor | None) -> Tensor:
    # A sum, not a mean: DP-SGD runs with loss_reduction="sum" (see attacks.dp_step).
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
        loss = _sum_cross_entropy(self.model(dummy), self.label)
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


def inverting_gradients_attack(
    x: Tensor,
    label: int,
    model: nn.Module,
    *,
    noise_multiplier: float,
    max_grad_norm: float = 1.0,
    iterations: int,
    restarts: int,
    tv_weight: float,
    lr: float,
    generator: torch.Generator,
    accountant: IAccountant | None = None,
) -> IGResult:
    """Reconstruct ``x`` from one real DP-SGD release of ``model`` trained on ``(x, label)``.

    The step runs on a copy of ``model``; ``model`` itself (the weights before the step, known to
    the attacker) is left unchanged.

    Args:
        x: The target image, shape (C, H, W), in [0, 1].
        label: Its class, known to the attacker.
        model: A classifier, e.g. :class:`~attacks.models.SmallCNN`.
        noise_multiplier: sigma (0 with ``max_grad_norm=math.inf``: non-private).
        max_grad_norm: The clip bound C.
        iterations: Adam steps per restart.
        restarts: Random initialisations; the best final objective wins.
        tv_weight: Weight of the total-variation prior.
        lr: Adam learning rate.
        generator: Source of the DP noise and of the restarts.
        accountant: Optional opacus accountant that sees the step (sample rate 1).

    Returns:
        The best reconstruction and its objective.
    """
    label_t = torch.tensor([label])
    release = dp_step(
        copy.deepcopy(model),
        x[None],
        _sum_cross_entropy,
        targets=label_t,
        noise_multiplier=noise_multiplier,
        max_grad_norm=max_grad_norm,
        generator=generator,
        accountant=accountant,
    )
    objective = _Objective(model, label_t, release, tv_weight)
    runs = [
        _invert(objective, (1, *x.shape), iterations=iterations, lr=lr, generator=generator)
        for _ in range(restarts)
    ]
    x_hat, loss = min(runs, key=lambda run: run[1])
    return IGResult(x_hat, loss)
