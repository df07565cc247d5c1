"""Identification (ReRo) attack: an informed adversary picks the target among n candidates.

The adversary's prior is a candidate set of n records, one of them the target (baseline success
kappa = 1/n; Balle, Cherubin, Hayes 2022). It observes one real DP-SGD release of the bias-free
:class:`~attacks.models.LinearTrap` (one row) on the target, whose weight update is
``clip(x) + N(0, sigma^2 C^2 I)``. It can compute every candidate's clipped gradient, and under
Gaussian noise with a uniform prior the maximum-likelihood (and Bayes-optimal) guess is the
candidate whose clipped gradient lies nearest the release in L2. Its success is bounded by
``Phi(Phi^-1(1/n) + 1/sigma)``, with equality for two antipodal candidates.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from opacus.accountants import IAccountant
from torch import Tensor

from attacks.dp_step import OPACUS_NORM_EPS, DPStep, trial_steppers
from attacks.models import LinearTrap, trap_loss


@dataclass(frozen=True)
class IdentificationResult:
    """One identification attack.

    Attributes:
        guess: Index of the maximum-likelihood candidate.
        correct: Whether the guess is the target.
        log_likelihoods: Per-candidate Gaussian log-likelihood of the release, up to a shared
            constant; the negative squared distance when sigma = 0 (the likelihood degenerates,
            the nearest candidate is still the right guess).
    """

    guess: int
    correct: bool
    log_likelihoods: Tensor


def clipped_gradients(candidates: Tensor, max_grad_norm: float) -> Tensor:
    """Each candidate's clipped trap gradient (its row equals x), clipped as opacus does."""
    norms = candidates.norm(dim=1, keepdim=True)
    return candidates * (max_grad_norm / (norms + OPACUS_NORM_EPS)).clamp(max=1.0)


def _identify(stepper: DPStep, candidates: Tensor, target_index: int) -> IdentificationResult:
    release = stepper.release(candidates[target_index][None])["trap.weight"][0]
    distances = (clipped_gradients(candidates, stepper.max_grad_norm) - release).square().sum(1)
    noise_std = stepper.noise_multiplier * stepper.max_grad_norm
    scale = 2.0 * noise_std**2 if noise_std > 0 else 1.0
    log_likelihoods = -distances / scale
    guess = int(torch.argmax(log_likelihoods))
    return IdentificationResult(guess, guess == target_index, log_likelihoods)


def identification_attack(
    candidates: Tensor,
    target_index: int,
    *,
    noise_multiplier: float,
    max_grad_norm: float = 1.0,
    generator: torch.Generator,
    accountant: IAccountant | None = None,
) -> IdentificationResult:
    """Identify the target among ``candidates`` from one real DP-SGD release.

    Args:
        candidates: The prior, shape (n, N): flattened records, one of which is the target.
        target_index: Row of the target.
        noise_multiplier: sigma (0 with ``max_grad_norm=math.inf``: non-private).
        max_grad_norm: The clip bound C.
        generator: Source of the noise.
        accountant: Optional opacus accountant that sees the step (sample rate 1).

    Returns:
        The guess, whether it is right, and the per-candidate log-likelihoods.

    Example:
        >>> candidates = torch.tensor([[1.0, 0.0], [-1.0, 0.0]])
        >>> identification_attack(candidates, 1, noise_multiplier=0.0,
        ...                       generator=torch.Generator().manual_seed(0)).correct
        True
    """
    stepper = DPStep(
        LinearTrap(candidates.shape[1]),
        trap_loss,
        noise_multiplier=noise_multiplier,
        max_grad_norm=max_grad_norm,
        generator=generator,
        accountant=accountant,
    )
    try:
        return _identify(stepper, candidates, target_index)
    finally:
        stepper.close()


def identification_trials(
    candidates: Tensor,
    target_indices: Tensor,
    *,
    noise_multiplier: float,
    max_grad_norm: float = 1.0,
    generator: torch.Generator,
    accountant: IAccountant | None = None,
) -> np.ndarray:
    """Run one independent identification attack per entry of ``target_indices``.

    Each trial is its own real opacus step; the accountant, if any, sees trial 0 only (see
    :func:`attacks.dp_step.trial_steppers`). Other arguments as in
    :func:`identification_attack`.

    Returns:
        A boolean array: whether each trial identified its target.
    """
    dp = {"noise_multiplier": noise_multiplier, "max_grad_norm": max_grad_norm}
    hits = np.zeros(len(target_indices), dtype=bool)
    model = LinearTrap(candidates.shape[1])
    with trial_steppers(
        model, trap_loss, accountant=accountant, generator=generator, **dp
    ) as stepper_for:
        for i, target in enumerate(target_indices.tolist()):
            hits[i] = _identify(stepper_for(i), candidates, target).correct
    return hits
