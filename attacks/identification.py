"""Identification (ReRo) attack: an informed adversary picks the target among n candidates.

The adversary's prior is a candidate set of n records, one of them the target (baseline
success kappa = 1/n; Balle, Cherubin, Hayes 2022). The task releases one real DP-SGD
update of the bias-free :class:`~attacks.models.LinearTrap` (one row) on the target, whose
weight update is ``clip(x) + N(0, sigma^2 C^2 I)``. The adversary can compute every
candidate's clipped gradient, and under Gaussian noise with a uniform prior the
maximum-likelihood (and Bayes-optimal) guess is the candidate whose clipped gradient lies
nearest the release in L2. Its success is bounded by ``Phi(Phi^-1(1/n) + 1/sigma)``, with
equality for two antipodal candidates.
"""

from __future__ import annotations

import torch
from torch import Tensor

from attacks.models import LinearTrap, trap_loss
from bench.errors import BenchError
from bench.tasks.base import MethodContext
from bench.tasks.recon_attack.api import OPACUS_NORM_EPS, AttackView, Release


def clipped_gradients(candidates: Tensor, max_grad_norm: float) -> Tensor:
    """Each candidate's clipped trap gradient (its row equals x), clipped as opacus does."""
    norms = candidates.norm(dim=1, keepdim=True)
    return candidates * (max_grad_norm / (norms + OPACUS_NORM_EPS)).clamp(max=1.0)


class IdentificationAttack:
    """The informed adversary: a one-row trap and the candidates' clipped gradients.

    Example:
        >>> from bench.tasks.recon_attack.api import AttackView, Release
        >>> candidates = torch.tensor([[1.0, 0.0], [-1.0, 0.0]])
        >>> view = AttackView("informed", "candidates", (2,), 0.0, 1.0, 1.0, 1, 1.0,
        ...                   candidates=candidates)
        >>> IdentificationAttack(view).reconstruct(Release(({"trap.weight": -candidates[1:]},),
        ...                                                 (True,)))
        0
    """

    loss = staticmethod(trap_loss)

    def __init__(self, view: AttackView) -> None:
        if view.knows != "candidates" or view.candidates is None:
            raise BenchError("the identification attack needs a 'candidates' threat model")
        self.model = LinearTrap(view.input_shape[0])
        self.clipped = clipped_gradients(view.candidates, view.max_grad_norm)
        noise_std = view.noise_multiplier * view.max_grad_norm if view.noise_multiplier else 0.0
        self.scale = 2.0 * noise_std**2 if noise_std > 0 else 1.0

    def log_likelihoods(self, release: Release) -> Tensor:
        """Per-candidate Gaussian log-likelihood of the release, up to a shared constant.

        The negative squared distance when sigma = 0 (the likelihood degenerates, the
        nearest candidate is still the right guess). Several sampled steps are averaged
        (each is ``clip(x)`` plus independent noise); with none, every candidate ties.
        """
        reads = [
            u["trap.weight"][0]
            for u, hit in zip(release.updates, release.sampled, strict=True)
            if hit
        ]
        if not reads:
            return torch.zeros(len(self.clipped))
        mean = torch.stack(reads).mean(0)
        return -len(reads) * (self.clipped - mean).square().sum(1) / self.scale

    def reconstruct(self, release: Release) -> int:
        """The index of the maximum-likelihood candidate."""
        return int(torch.argmax(self.log_likelihoods(release)))


def run(ctx: MethodContext, view: AttackView, ledger) -> IdentificationAttack:
    """``identification``."""
    return IdentificationAttack(view)
