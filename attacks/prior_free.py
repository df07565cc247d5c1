"""The optimal prior-free reconstruction attack (Riess et al.; PAPERS.md C), run through opacus.

The adversary crafts a trap model (:mod:`attacks.models`), knows ``||x||`` and which steps
sampled the target, and knows every other record: their clipped contributions are known and
cancel, so each released batch holds the target alone or is empty (pure noise). From each of the
K steps that sampled the target it reads ``c x + N(0, sigma^2 C^2 / kappa^2 I)`` by least squares,
averages them and divides by the known clip factor c, giving
``x_hat ~ N(x, sigma^2 ||x||^2 / K I)`` when clipping is active (``kappa ||x|| > C``). Then
``MSE ~ Gamma(N/2, scale 2 sigma^2 ||x||^2 / (N K))``, the distribution the bounds describe.
With K = 0 the adversary abstains, which counts as a failure.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from opacus.accountants import IAccountant
from torch import Tensor

from attacks.dp_step import DPStep, clip_factor, trial_steppers
from attacks.models import HiddenTrap, LinearTrap, TrapModel, trap_loss

Readout = Literal["all", "trap"]


@dataclass(frozen=True)
class PriorFreeResult:
    """One prior-free attack.

    Attributes:
        x_hat: The reconstruction, shape (N,); None when the target was never sampled.
        observations: K, the number of steps that sampled the target.
    """

    x_hat: Tensor | None
    observations: int


@dataclass(frozen=True)
class PriorFreeTrials:
    """Many independent prior-free attacks.

    Attributes:
        mse: Per-trial MSE (float64), ``inf`` where the adversary abstained (a failure).
        observations: Per-trial K.
    """

    mse: np.ndarray
    observations: np.ndarray


def build_trap(
    dim: int, *, rows: int = 1, hidden: bool = False, generator: torch.Generator | None = None
) -> TrapModel:
    """Return the bare :class:`LinearTrap` or the :class:`HiddenTrap` (whose layer is square)."""
    if hidden and rows != 1:
        raise ValueError("the hidden trap's attack layer is square: rows applies to the bare trap")
    return HiddenTrap(dim, generator=generator) if hidden else LinearTrap(dim, rows)


class _Adversary:
    """The adversary's copy of its crafted weights and the read-out it derives from them."""

    def __init__(self, model: TrapModel, readout: Readout, max_grad_norm: float) -> None:
        self.model = copy.deepcopy(model)  # taken before opacus wraps (and hooks) the original
        self.names = None if readout == "all" else {"trap.weight"}
        self.kappa_read = self.model.gain(self.names)
        self.kappa_all = self.model.gain()
        self.max_grad_norm = max_grad_norm

    def observe(self, stepper: DPStep, x: Tensor, sample_rate: float, generator) -> Tensor | None:
        # Poisson sampling: the adversary learns whether the target was in the batch.
        sampled = bool(torch.rand((), generator=generator) < sample_rate)
        batch = x[None] if sampled else x.new_zeros(0, x.numel())
        update = stepper.release(batch)
        if not sampled:
            return None  # pure noise, carries nothing about x
        return self.model.readout(update, self.names, gain=self.kappa_read)

    def attack(self, stepper: DPStep, x: Tensor, steps: int, sample_rate: float, generator):
        reads = [self.observe(stepper, x, sample_rate, generator) for _ in range(steps)]
        reads = [r for r in reads if r is not None]
        if not reads:
            return PriorFreeResult(None, 0)
        # The per-sample norm is kappa ||x||: known, so the clipping is undone exactly.
        c = clip_factor(self.kappa_all * float(x.norm()), self.max_grad_norm)
        return PriorFreeResult(torch.stack(reads).mean(0) / c, len(reads))


def prior_free_attack(
    x: Tensor,
    *,
    noise_multiplier: float,
    max_grad_norm: float = 1.0,
    rows: int = 1,
    hidden: bool = False,
    readout: Readout = "all",
    sample_rate: float = 1.0,
    steps: int = 1,
    generator: torch.Generator,
    accountant: IAccountant | None = None,
) -> PriorFreeResult:
    """Reconstruct a flattened target from ``steps`` real DP-SGD releases of a trap model.

    Args:
        x: The target, shape (N,); rescale it so that clipping is active (e.g. ``||x|| = 1.01``
            with ``C = 1``), else the attack is weaker than the bound assumes.
        noise_multiplier: sigma (0 with ``max_grad_norm=math.inf``: non-private).
        max_grad_norm: The clip bound C.
        rows: Rows M of the bare trap.
        hidden: Hide the attack layer in a larger trainable network (:class:`HiddenTrap`).
        readout: Read all parameters' updates (least squares) or the attack layer's only.
        sample_rate: Poisson rate q with which each step includes the target.
        steps: Number of DP steps T.
        generator: Source of the sampling decisions, the hidden weights and the noise.
        accountant: Optional opacus accountant that sees the T steps.

    Returns:
        The reconstruction and the number K of steps that sampled the target.

    Example:
        >>> x = torch.tensor([0.6, -0.8]) * 1.01
        >>> result = prior_free_attack(x, noise_multiplier=0.0,
        ...                            generator=torch.Generator().manual_seed(0))
        >>> torch.allclose(result.x_hat, x), result.observations
        (True, 1)
    """
    model = build_trap(x.numel(), rows=rows, hidden=hidden, generator=generator)
    adversary = _Adversary(model, readout, max_grad_norm)
    stepper = DPStep(
        model,
        trap_loss,
        noise_multiplier=noise_multiplier,
        max_grad_norm=max_grad_norm,
        generator=generator,
        accountant=accountant,
        sample_rate=sample_rate,
    )
    try:
        return adversary.attack(stepper, x, steps, sample_rate, generator)
    finally:
        stepper.close()


def prior_free_trials(
    images: Tensor,
    *,
    noise_multiplier: float,
    max_grad_norm: float = 1.0,
    rows: int = 1,
    hidden: bool = False,
    readout: Readout = "all",
    sample_rate: float = 1.0,
    steps: int = 1,
    generator: torch.Generator,
    accountant: IAccountant | None = None,
) -> PriorFreeTrials:
    """Run one independent prior-free attack per row of ``images`` (shape (trials, N)).

    Every trial goes through its own real opacus steps; the trap is built and wrapped once.
    The accountant, if any, sees the steps of trial 0 only: each trial is the same mechanism, so
    its epsilon is the per-trial guarantee. Other arguments are those of
    :func:`prior_free_attack`.

    Returns:
        Per-trial MSE (``inf`` on abstention) and K.
    """
    model = build_trap(images.shape[1], rows=rows, hidden=hidden, generator=generator)
    adversary = _Adversary(model, readout, max_grad_norm)
    mse = np.full(len(images), math.inf)
    observations = np.zeros(len(images), dtype=np.int64)
    dp = {"noise_multiplier": noise_multiplier, "max_grad_norm": max_grad_norm}
    with trial_steppers(
        model, trap_loss, accountant=accountant, sample_rate=sample_rate, generator=generator, **dp
    ) as stepper_for:
        for i, x in enumerate(images):
            result = adversary.attack(stepper_for(i), x, steps, sample_rate, generator)
            observations[i] = result.observations
            if result.x_hat is not None:
                mse[i] = float((result.x_hat.double() - x.double()).square().mean())
    return PriorFreeTrials(mse, observations)
