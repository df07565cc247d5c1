"""What an attack of ``recon-attack`` sees and returns: the task's public method API.

The task draws the private targets and keeps them. An attack is a method whose artifact
(:class:`Attack`) supplies the model the adversary controls and a ``reconstruct`` from a
release; the task runs the real opacus DP-SGD release of that model on each target
(noise calibrated by the privacy ledger), hands the attack the release and what its
threat model allows, and scores the answer against the target it kept.

- :class:`ThreatModel`, :class:`ReconSettings`: the protocol settings, per profile
  (``ctx.settings``); an attack's config names its threat model (``threat_model``).
- :class:`AttackView`: what ``run(ctx, view, ledger)`` receives, before any release.
- :class:`Release`: one trial's observation, given to ``Attack.reconstruct``.
- :func:`clip_factor`: the mechanism's clipping, as an adversary who knows the norm
  undoes it.

Importing this module loads no torch (``bench list`` stays fast).

Example:
    >>> settings = PROFILES["smoke"]
    >>> settings.threat_model("prior_free").trials, KNOWLEDGE["informed"]
    (60, 'candidates')
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol

if TYPE_CHECKING:
    from torch import Tensor, nn

ThreatModelName = Literal[
    "prior_free", "prior_free_large", "prior_free_dpsgd", "informed", "gradient_matching"
]
Knowledge = Literal["norm", "candidates", "label"]

#: What each threat model's adversary knows besides its own model and the release.
#: ``norm``: the prior-free adversary: the target's L2 norm, C, sigma, q, T, and which
#: steps sampled the target (it knows every other record, whose contributions cancel).
#: ``candidates``: the informed adversary: a candidate set of ``prior_size`` records that
#: contains the target (baseline success 1 / prior_size).
#: ``label``: the gradient-matching adversary: the target's class, the data range [0, 1].
KNOWLEDGE: dict[str, Knowledge] = {
    "prior_free": "norm",
    "prior_free_large": "norm",
    "prior_free_dpsgd": "norm",
    "informed": "candidates",
    "gradient_matching": "label",
}
CLASSES = 2  # the targets' labels: cardiac phase (ES 0, ED 1) or mass class (benign 0)
OPACUS_NORM_EPS = 1e-6  # opacus clips with C / (norm + 1e-6); an adversary inverts exactly that


@dataclass(frozen=True)
class ThreatModel:
    """One threat model's pinned settings (protocol: the attack cannot change them).

    Attributes:
        image_size: side of the square grayscale target (N = image_size^2 values), taken
            from the dataset's images by area downsampling.
        trials: attack trials per cell (one target, one fresh release each).
        target_norm: ``norm`` and ``candidates`` targets are flattened and rescaled to this
            L2 norm (1.01 > C: clipping is active, as in the paper); ``label`` targets stay
            images in [0, 1].
        max_grad_norm: clip bound C.
        sample_rate, steps: the DP-SGD schedule (Poisson rate q, T steps) the noise is
            calibrated for.
        nmse_threshold: success means ||X_hat - X||^2 / ||X||^2 <= r, i.e. MSE <= eta =
            r ||X||^2 / N: a relative threshold, so that one value fits any N.
        prior_size: n candidates of the informed adversary; also the kappa = 1/n of the
            ReRo bound every record reports.
    """

    image_size: int
    trials: int
    target_norm: float = 1.01
    max_grad_norm: float = 1.0
    sample_rate: float = 1.0
    steps: int = 1
    nmse_threshold: float = 0.1
    prior_size: int = 10

    def __post_init__(self) -> None:
        if self.image_size < 1 or self.trials < 1 or self.steps < 1 or self.prior_size < 2:
            raise ValueError("image_size, trials, steps >= 1 and prior_size >= 2")
        if not 0 < self.sample_rate <= 1 or not self.max_grad_norm > 0:
            raise ValueError("sample_rate in (0, 1] and max_grad_norm > 0")

    @property
    def dim(self) -> int:
        return self.image_size**2


_TM = ThreatModel


@dataclass(frozen=True)
class ReconSettings:
    """The task's protocol settings for one profile: a table of named threat models.

    ``--set protocol.<threat model>.<field>=VALUE`` changes one for an experiment (the
    record then states the changed protocol).
    """

    prior_free: ThreatModel
    prior_free_large: ThreatModel
    prior_free_dpsgd: ThreatModel
    informed: ThreatModel
    gradient_matching: ThreatModel

    def threat_model(self, name: str) -> ThreatModel:
        if name not in KNOWLEDGE:
            raise KeyError(f"unknown threat model {name!r}; known: {', '.join(KNOWLEDGE)}")
        return getattr(self, name)


PROFILES = {
    "smoke": ReconSettings(
        prior_free=_TM(image_size=2, trials=60),
        prior_free_large=_TM(image_size=2, trials=60),
        prior_free_dpsgd=_TM(image_size=2, trials=30, sample_rate=0.1, steps=30),
        informed=_TM(image_size=4, trials=60),
        gradient_matching=_TM(image_size=8, trials=2),
    ),
    "small": ReconSettings(
        prior_free=_TM(image_size=2, trials=1000),
        prior_free_large=_TM(image_size=4, trials=500),
        prior_free_dpsgd=_TM(image_size=2, trials=300, sample_rate=0.1, steps=50),
        informed=_TM(image_size=4, trials=1000),
        gradient_matching=_TM(image_size=16, trials=12),
    ),
    "paper": ReconSettings(
        prior_free=_TM(image_size=2, trials=500),
        prior_free_large=_TM(image_size=32, trials=500),
        prior_free_dpsgd=_TM(image_size=2, trials=500, sample_rate=0.02, steps=500),
        informed=_TM(image_size=32, trials=1000),
        gradient_matching=_TM(image_size=32, trials=50),
    ),
}


@dataclass(frozen=True)
class AttackView:
    """What an attack's ``run(ctx, view, ledger)`` receives: public facts, never a target.

    Attributes:
        threat_model: the name of the threat model the attack's config chose.
        knows: its :data:`KNOWLEDGE`.
        input_shape: shape of one record as the model receives it: ``(N,)`` for ``norm``
            and ``candidates`` (flattened, rescaled to ``target_norm``), ``(1, s, s)`` in
            [0, 1] for ``label``.
        noise_multiplier: sigma, calibrated by the ledger to the cell's epsilon (0 for
            the non-private baseline).
        max_grad_norm: C (``inf`` for the non-private baseline: no clipping).
        sample_rate, steps: q and T of the release.
        target_norm: the targets' L2 norm (``norm``, ``candidates``), else None.
        classes: number of target classes (``label``: the model's output size).
        candidates: ``candidates`` only: the candidate set, shape (prior_size, N); each
            trial's target is one of them (which one, the attack must find out).
    """

    threat_model: str
    knows: Knowledge
    input_shape: tuple[int, ...]
    noise_multiplier: float
    max_grad_norm: float
    sample_rate: float
    steps: int
    target_norm: float | None
    classes: int = CLASSES
    candidates: Tensor | None = None

    def facts(self) -> dict[str, Any]:
        """The view as the record states it: the candidates as their count, an infinite
        clip bound (the non-private baseline) as None (strict JSON)."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        out["candidates"] = None if self.candidates is None else len(self.candidates)
        out["input_shape"] = list(self.input_shape)
        if math.isinf(self.max_grad_norm):
            out["max_grad_norm"] = None
        return out


@dataclass(frozen=True)
class Release:
    """One trial: what DP-SGD released, plus what the threat model tells the adversary.

    Attributes:
        updates: ``W_before - W_after`` of every step (a real opacus ``DPOptimizer`` step
            over SGD with lr 1: the clipped, summed, noised gradient), keyed by the
            model's parameter names; the model is reset to its weights before each step.
        sampled: for each step, whether Poisson sampling put the target in the batch (the
            batch holds the target alone or nothing: an empty batch releases pure noise).
        norm: the target's L2 norm (``norm`` threat models), else None.
        label: the target's class (``label``), else None.
    """

    updates: tuple[dict[str, Tensor], ...]
    sampled: tuple[bool, ...]
    norm: float | None = None
    label: int | None = None


class Attack(Protocol):
    """The artifact of an attack method.

    Attributes:
        model: the model the adversary controls; the task releases DP-SGD updates of a
            copy of it (the attack's own instance never sees a target).
    """

    model: nn.Module

    def loss(self, outputs: Tensor, labels: Tensor | None) -> Tensor:
        """The training loss, summed over the batch (the release uses ``loss_reduction="sum"``)."""

    def reconstruct(self, release: Release) -> Tensor | int | None:
        """The answer for one trial: a reconstruction of shape ``input_shape`` (``norm``,
        ``label``), None to abstain (a failure), or for ``candidates`` the index of the
        chosen candidate."""


def clip_factor(norm: float, max_grad_norm: float) -> float:
    """The factor opacus multiplies a per-sample gradient of L2 norm ``norm`` by.

    Example:
        >>> clip_factor(0.5, 1.0), round(clip_factor(2.0, 1.0), 6)
        (1.0, 0.5)
    """
    return min(1.0, max_grad_norm / (norm + OPACUS_NORM_EPS))


__all__ = [
    "CLASSES",
    "KNOWLEDGE",
    "OPACUS_NORM_EPS",
    "Attack",
    "AttackView",
    "Knowledge",
    "ReconSettings",
    "Release",
    "ThreatModel",
    "ThreatModelName",
    "clip_factor",
]
