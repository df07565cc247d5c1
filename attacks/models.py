"""Models the attacks train with DP-SGD: the prior-free traps and a small CNN.

A *trap* is a model an adversary crafts so that the per-sample gradient of :func:`trap_loss` is a
known linear map of the input, ``g(x) = J x``, with ``J^T J = kappa^2 I`` (isotropic). Then

* the per-sample gradient norm is ``kappa ||x||``: it depends on x only through ``||x||``, which
  the prior-free adversary knows (PAPERS.md C), so clipping scales the gradient by a known factor
  ``c = min(1, C / (kappa ||x||))``;
* the release is ``y = c J x + N(0, sigma^2 C^2 I)`` and the least-squares estimate
  ``J^T y / kappa^2 = c x + N(0, sigma^2 C^2 / kappa^2 I)``; dividing by ``c`` gives, when clipping
  is active, ``x + N(0, sigma^2 ||x||^2 I)``: kappa and C cancel, the optimal prior-free attack.

Reading only a subset of parameters (e.g. the attack layer of :class:`HiddenTrap`) uses a smaller
gain ``kappa_S <= kappa`` while clipping still acts on the whole gradient, so the noise grows to
``sigma ||x|| kappa / kappa_S``: hiding the attack layer never beats the bare attack.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping

import torch
from torch import Tensor, nn


def trap_loss(outputs: Tensor, targets: Tensor | None = None) -> Tensor:
    """The traps' loss: the sum of all outputs (a sum over the batch, as DP-SGD needs)."""
    return outputs.sum()


class TrapModel(nn.Module):
    """Base of the traps: linear gradient maps read out by least squares.

    Subclasses set ``self.dim`` (the flattened input size) and build bias-free linear layers.
    """

    dim: int

    def _gradients(self, probe: Tensor, names: Collection[str] | None, *, create_graph: bool):
        params = {n: p for n, p in self.named_parameters() if names is None or n in names}
        if not params:
            raise ValueError(f"no parameter among {names}")
        loss = trap_loss(self(probe))
        grads = torch.autograd.grad(loss, list(params.values()), create_graph=create_graph)
        return dict(zip(params, grads, strict=True))

    def gain(self, names: Collection[str] | None = None) -> float:
        """Return kappa = ``||J x|| / ||x||`` over the parameters ``names`` (all if None)."""
        unit = torch.zeros(1, self.dim)
        unit[0, 0] = 1.0
        with torch.enable_grad():
            grads = self._gradients(unit, names, create_graph=False)
        return math.sqrt(sum(float(g.square().sum()) for g in grads.values()))

    def adjoint(self, update: Mapping[str, Tensor], names: Collection[str] | None = None) -> Tensor:
        """Return ``J^T y`` for a released update ``y`` restricted to ``names``.

        ``J`` is linear, so ``J^T y`` is the input-gradient of ``<J probe, y>`` at any probe; the
        double backward at a zero probe computes it without forming J.
        """
        probe = torch.zeros(1, self.dim, requires_grad=True)
        with torch.enable_grad():
            grads = self._gradients(probe, names, create_graph=True)
            inner = sum((g * update[n]).sum() for n, g in grads.items())
            return torch.autograd.grad(inner, probe)[0][0]

    def readout(
        self,
        update: Mapping[str, Tensor],
        names: Collection[str] | None = None,
        *,
        gain: float | None = None,
    ) -> Tensor:
        """Least-squares estimate ``J^T y / kappa^2`` of ``c x`` (see the module doc).

        Args:
            update: The released update, keyed by parameter name.
            names: The parameters to read (all if None).
            gain: kappa for ``names`` if already known (it only depends on the weights).
        """
        kappa = self.gain(names) if gain is None else gain
        return self.adjoint(update, names) / kappa**2


class LinearTrap(TrapModel):
    """The prior-free attack model: a bias-free ``nn.Linear(dim, rows)``.

    With :func:`trap_loss` every row of the weight gradient equals x, so ``kappa = sqrt(rows)``
    and the read-out is the mean of the released rows. Its weights do not enter the gradient;
    they start at zero so that ``W_before - W_after`` returns the release without rounding (and
    without drawing from the global random state).

    Example:
        >>> trap = LinearTrap(3, rows=2)
        >>> round(trap.gain() ** 2, 6)
        2.0
    """

    def __init__(self, dim: int, rows: int = 1) -> None:
        super().__init__()
        self.dim = dim
        self.trap = nn.Linear(dim, rows, bias=False)
        nn.init.zeros_(self.trap.weight)

    def forward(self, x: Tensor) -> Tensor:
        return self.trap(x)


def _orthogonal(dim: int, generator: torch.Generator | None) -> Tensor:
    q, r = torch.linalg.qr(torch.randn(dim, dim, generator=generator))
    return q * torch.sign(torch.diagonal(r))  # sign fix: Haar-distributed, not biased by QR


class HiddenTrap(TrapModel):
    """The attack layer hidden inside a larger, fully trainable linear network.

    ``x -> trap (Q1) -> hidden (Q2) -> head (v^T)``, all bias-free, Q1 and Q2 random orthogonal
    and ``||v|| = 1``, chosen by the adversary. The per-sample gradients are
    ``trap: (Q2^T v) x^T``, ``hidden: v (Q1 x)^T`` and ``head: Q2 Q1 x``, each of norm ``||x||``,
    so the whole gradient, which opacus clips, has norm ``sqrt(3) ||x||``: it depends on x only
    through its norm and the adversary can undo the clipping exactly. Read-out over all
    parameters (kappa^2 = 3) gives noise ``sigma ||x||``, the bare attack's; the attack layer
    alone (kappa_trap = 1) gives ``sqrt(3) sigma ||x||``.

    Example:
        >>> round(HiddenTrap(4).gain() ** 2, 4), round(HiddenTrap(4).gain({"trap.weight"}), 4)
        (3.0, 1.0)
    """

    def __init__(self, dim: int, *, generator: torch.Generator | None = None) -> None:
        super().__init__()
        self.dim = dim
        self.trap = nn.Linear(dim, dim, bias=False)
        self.hidden = nn.Linear(dim, dim, bias=False)
        self.head = nn.Linear(dim, 1, bias=False)
        v = torch.randn(1, dim, generator=generator)
        with torch.no_grad():
            self.trap.weight.copy_(_orthogonal(dim, generator))
            self.hidden.weight.copy_(_orthogonal(dim, generator))
            self.head.weight.copy_(v / v.norm())

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.hidden(self.trap(x)))


class SmallCNN(nn.Module):
    """A small opacus-compatible classifier (Conv2d, GroupNorm, SiLU; no BatchNorm).

    Three 3x3 convolutions (the last two with stride 2) and a linear head over the flattened
    features; about 19k parameters for 16x16 grayscale input at the default width. The head keeps
    spatial detail in the gradient, which is what gradient inversion exploits.

    Args:
        in_channels: Image channels.
        image_size: Side length of the square input.
        n_classes: Number of classes.
        width: Channels of the first convolution (a multiple of 4, for GroupNorm).

    Example:
        >>> SmallCNN(1, 16, 10)(torch.zeros(2, 1, 16, 16)).shape
        torch.Size([2, 10])
    """

    def __init__(self, in_channels: int, image_size: int, n_classes: int, width: int = 16) -> None:
        super().__init__()
        self.features = nn.Sequential(
            *_conv_block(in_channels, width, stride=1),
            *_conv_block(width, 2 * width, stride=2),
            *_conv_block(2 * width, 2 * width, stride=2),
            nn.Flatten(),
        )
        with torch.no_grad():
            n_features = self.features(torch.zeros(1, in_channels, image_size, image_size)).shape[1]
        self.head = nn.Linear(n_features, n_classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x))


def _conv_block(c_in: int, c_out: int, *, stride: int) -> list[nn.Module]:
    # SiLU rather than ReLU: a smooth activation keeps the gradient-of-gradient informative.
    conv = nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1)
    return [conv, nn.GroupNorm(4, c_out), nn.SiLU()]
