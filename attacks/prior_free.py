"""The optimal prior-free reconstruction attack (Riess et al.; PAPERS.md C).

The adversary crafts a trap model (:mod:`attacks.models`); the task releases real opacus
DP-SGD updates of it. The prior-free threat model tells the adversary ``||x||`` and which
steps sampled the target, and it knows every other record: their clipped contributions
are known and cancel, so each released batch holds the target alone or is empty (pure
noise). From each of the K steps that sampled the target it reads
``c x + N(0, sigma^2 C^2 / kappa^2 I)`` by least squares, averages them and divides by
the known clip factor c, giving ``x_hat ~ N(x, sigma^2 ||x||^2 / K I)`` when clipping is
active (``kappa ||x|| > C``). Then ``MSE ~ Gamma(N/2, scale 2 sigma^2 ||x||^2 / (N K))``,
the distribution the bounds describe. With K = 0 the adversary abstains (a failure).
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor

from attacks.models import HiddenTrap, LinearTrap, TrapModel, trap_loss
from bench.errors import BenchError
from bench.tasks.base import MethodContext
from bench.tasks.recon_attack.api import AttackView, Release, clip_factor

Readout = Literal["all", "trap"]


def build_trap(
    dim: int, *, rows: int = 1, hidden: bool = False, generator: torch.Generator | None = None
) -> TrapModel:
    """Return the bare :class:`LinearTrap` or the :class:`HiddenTrap` (whose layer is square)."""
    if hidden and rows != 1:
        raise ValueError("the hidden trap's attack layer is square: rows applies to the bare trap")
    return HiddenTrap(dim, generator=generator) if hidden else LinearTrap(dim, rows)


class PriorFreeAttack:
    """The prior-free adversary: its trap, and the read-out it derives from its weights.

    Args:
        view: the task's view (threat model ``norm``).
        rows: rows M of the bare trap.
        hidden: hide the attack layer in a larger trainable network (:class:`HiddenTrap`).
        readout: read all parameters' updates (least squares) or the attack layer's only.
        generator: source of the hidden trap's weights.

    Example:
        >>> from bench.tasks.recon_attack.api import AttackView, Release
        >>> view = AttackView("prior_free", "norm", (2,), 0.0, 1.0, 1.0, 1, 1.01)
        >>> attack = PriorFreeAttack(view)
        >>> update = {"trap.weight": torch.tensor([[0.6, -0.8]]) / 1.01 * 1.0}
        >>> attack.reconstruct(Release((update,), (True,), norm=1.01))
        tensor([ 0.6000, -0.8000])
    """

    loss = staticmethod(trap_loss)

    def __init__(
        self,
        view: AttackView,
        *,
        rows: int = 1,
        hidden: bool = False,
        readout: Readout = "all",
        generator: torch.Generator | None = None,
    ) -> None:
        if view.knows != "norm":
            raise BenchError(f"the prior-free attack needs a 'norm' threat model, not {view.knows}")
        self.model = build_trap(view.input_shape[0], rows=rows, hidden=hidden, generator=generator)
        self.names = None if readout == "all" else {"trap.weight"}
        self.kappa_read = self.model.gain(self.names)
        self.kappa_all = self.model.gain()
        self.max_grad_norm = view.max_grad_norm

    def reconstruct(self, release: Release) -> Tensor | None:
        """The mean of the sampled steps' read-outs, unclipped; None if never sampled."""
        reads = [
            self.model.readout(update, self.names, gain=self.kappa_read)
            for update, hit in zip(release.updates, release.sampled, strict=True)
            if hit  # an empty batch released pure noise: it carries nothing about x
        ]
        if not reads:
            return None
        # The per-sample norm is kappa ||x||: known, so the clipping is undone exactly.
        c = clip_factor(self.kappa_all * release.norm, self.max_grad_norm)
        return torch.stack(reads).mean(0) / c


def run(ctx: MethodContext, view: AttackView, ledger) -> PriorFreeAttack:
    """``prior-free``, ``prior-free-hidden``, ``prior-free-dpsgd``: the trap of the config."""
    config = ctx.config
    generator = torch.Generator().manual_seed(ctx.derive_seed("trap"))
    return PriorFreeAttack(view, rows=config.rows, hidden=config.hidden, generator=generator)
