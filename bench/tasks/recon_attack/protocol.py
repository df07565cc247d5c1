"""The protocol of ``recon-attack``: targets kept by the task, the release run by the task.

1. :meth:`ReconAttackProtocol.prepare` draws the private targets of the attack's threat
   model, holds them in the ledger, calibrates the release mechanism through the ledger
   (sigma for the threat model's q, T and the cell's budget) and hands the attack an
   :class:`~bench.tasks.recon_attack.api.AttackView` -- public facts, never a target.
2. The method returns an :class:`~bench.tasks.recon_attack.api.Attack`.
3. :meth:`ReconAttackProtocol.score` releases real opacus DP-SGD updates of a copy of the
   attack's model on each target (the task's noise generator, the ledger's accountant on
   trial 0), asks the attack to reconstruct each, and compares with the kept target.
"""

from __future__ import annotations

import contextlib
import copy
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from bench.errors import BenchError
from bench.metrics.image import ssim
from bench.privacy.ledger import Mechanism, PrivacyLedger
from bench.tasks.base import CellContext, Prepared, Scored
from bench.tasks.recon_attack import scoring
from bench.tasks.recon_attack.api import KNOWLEDGE, AttackView, ThreatModel
from bench.tasks.recon_attack.release import release_trials
from bench.tasks.recon_attack.targets import Targets, load_targets, rescaled

TARGETS = "target images (private variant)"
RELEASE = "attacked DP-SGD release"
EVALUATED = "the kept attack targets (held-out test images): each answer compared with its target"


@dataclass(frozen=True)
class Held:
    """What only the task sees: the targets, the release's inputs, the mechanism."""

    name: str
    threat: ThreatModel
    targets: Targets
    inputs: torch.Tensor  # per trial, what the release puts in the batch
    labels: torch.Tensor | None
    truth: np.ndarray | None  # informed: each trial's target among the candidates
    mechanism: Mechanism
    generator: torch.Generator

    @property
    def knows(self) -> str:
        return KNOWLEDGE[self.name]


class ReconAttackProtocol:
    """prepare / score / risk of ``recon-attack`` (:class:`bench.tasks.base.TaskProtocol`)."""

    def prepare(self, ctx: CellContext, ledger: PrivacyLedger) -> Prepared:
        name = threat_model_name(ctx.config)
        threat = ctx.settings.threat_model(name)
        knows, labels, truth = KNOWLEDGE[name], None, None
        if knows == "candidates":
            targets = load_targets(ctx, threat.prior_size, threat.image_size, distinct=True)
            candidates = rescaled(targets.images, threat.target_norm)
            seed = ctx.derive_seed("picks")
            picks = torch.randint(
                threat.prior_size, (threat.trials,), generator=torch.Generator().manual_seed(seed)
            )
            inputs, truth = candidates[picks], picks.numpy()
            ledger.record_access(
                "the informed adversary's prior",
                f"{threat.prior_size} candidate images ({TARGETS}), each trial's target among them",
                "threat model: the informed adversary knows the candidates (ReRo); DP "
                "protects which one the release was computed on",
            )
        else:
            targets = load_targets(ctx, threat.trials, threat.image_size)
            if knows == "norm":
                inputs = rescaled(targets.images, threat.target_norm)
            else:
                inputs = torch.from_numpy(targets.images[:, None]).float()
                labels = torch.from_numpy(targets.labels)
        mechanism = ledger.calibrated(
            RELEASE,
            ledger.hold(TARGETS, inputs),
            sample_rate=threat.sample_rate,
            steps=threat.steps,
            max_grad_norm=threat.max_grad_norm,
        )
        # The noise seed includes the epsilon: cells differ in noise but share targets.
        generator = torch.Generator().manual_seed(ctx.derive_seed("noise", ctx.cell.epsilon))
        view = AttackView(
            threat_model=name,
            knows=knows,
            input_shape=tuple(inputs.shape[1:]),
            noise_multiplier=mechanism.sigma,
            max_grad_norm=mechanism.max_grad_norm,
            sample_rate=threat.sample_rate,
            steps=threat.steps,
            target_norm=None if knows == "label" else threat.target_norm,
            candidates=candidates.clone() if knows == "candidates" else None,
        )
        held = Held(name, threat, targets, inputs, labels, truth, mechanism, generator)
        return Prepared(view, held, targets.dataset)

    def score(
        self, ctx: CellContext, prepared: Prepared, attack: Any, ledger: PrivacyLedger
    ) -> Scored:
        held: Held = prepared.held
        _check_attack(attack)
        answers, observations = self._attack(ctx, held, attack)
        ledger.record_evaluation(EVALUATED)
        sigma = held.mechanism.sigma
        if held.knows == "candidates":
            picks = np.array([_pick(a, held.threat.prior_size) for a in answers])
            scored = scoring.score_identification(picks, held.truth, held.threat, sigma)
        else:
            scored = _score_reconstructions(held, answers, observations)
        details = {
            "threat_model": held.name,
            "view": prepared.view.facts(),
            "attack": type(attack).__name__,
            "model_parameters": sum(p.numel() for p in attack.model.parameters()),
            "accounting": "the ledger's accountant watched the steps of trial 0; every trial "
            "repeats the same mechanism on a fresh target, so its epsilon is the per-target "
            "guarantee",
        }
        return Scored(scored.metrics, scored.outputs, details)

    def audit_release(
        self, ctx: CellContext, prepared: Prepared, attack: Any, ledger: PrivacyLedger
    ) -> None:
        """The release's mechanism under the privacy audit (:mod:`bench.audit`): the task's
        own opacus step (:class:`~.release.DPStep`, the ledger's calibrated sigma and clip,
        the ledger's accountant, the task's noise generator) releases ``threat.steps``
        updates of a batch that Poisson sampling at ``threat.sample_rate`` fills from the
        private records -- trial 0's target (with its label, for a labelled threat model)
        and the auditor's canary records
        (:meth:`~bench.audit.canary.AuditLedger.watch_release`). The model is the attack's,
        with one dead parameter tensor the white-box auditor builds in to hold the canary
        coordinates (the attack's trap has a few weights). Nothing is reconstructed or
        scored."""
        from bench.tasks.recon_attack.release import DPStep, release_records

        held: Held = prepared.held
        _check_attack(attack)
        mech, threat = held.mechanism, held.threat
        model = _WithDeadCoordinates(copy.deepcopy(attack.model), ledger.canaries)
        step = DPStep(
            model,
            attack.loss,
            noise_multiplier=mech.sigma,
            max_grad_norm=mech.max_grad_norm,
            generator=held.generator,
            accountant=mech.accountant,
            sample_rate=threat.sample_rate,
        )
        try:
            base = held.inputs[:1]  # a labelled threat model's records are (image, label)
            if held.labels is not None:
                base = list(zip(held.inputs[:1], held.labels[:1], strict=True))
            records = ledger.watch_release(step.optimizer, base, mech, name=RELEASE)
            release_records(
                step,
                records,
                input_shape=tuple(held.inputs.shape[1:]),
                sample_rate=threat.sample_rate,
                steps=threat.steps,
                generator=held.generator,
                labelled=held.labels is not None,
            )
        finally:
            step.close()

    def risk(self, ctx: CellContext, ledger: PrivacyLedger) -> dict[str, Any]:
        threat = ctx.settings.threat_model(threat_model_name(ctx.config))
        return scoring.risk_of(ledger.runs[-1]["noise_multiplier"], threat)

    @staticmethod
    def _attack(ctx: CellContext, held: Held, attack) -> tuple[list, np.ndarray]:
        """Release every trial on a copy of the attack's model, collect the answers."""
        mech, threat = held.mechanism, held.threat
        releases = release_trials(
            copy.deepcopy(attack.model),  # the attack's own instance never sees a target
            attack.loss,
            held.inputs,
            labels=held.labels,
            noise_multiplier=mech.sigma,
            max_grad_norm=mech.max_grad_norm,
            sample_rate=threat.sample_rate,
            steps=threat.steps,
            generator=held.generator,
            accountant=mech.accountant,
            tell_norm=held.knows == "norm",
        )
        answers, observations = [], []
        trials = ctx.progress(range(threat.trials), desc="attack trials", unit="trial")
        with contextlib.closing(releases):
            for _, release in zip(trials, releases, strict=True):
                observations.append(sum(release.sampled))
                answers.append(attack.reconstruct(release))
        if mech.accountant is not None:
            taken = sum(steps for _, _, steps in mech.accountant.history)
            if taken != threat.steps:
                raise RuntimeError(f"accountant saw {taken} steps, expected {threat.steps}")
        return answers, np.array(observations)


class _WithDeadCoordinates(torch.nn.Module):
    """The attack's model plus a bias-free ``Linear(size, 1)`` fed zeros: its weights never
    change the output and every record's gradient on them is zero (dead coordinates, the
    white-box auditor's canary slots)."""

    def __init__(self, model: torch.nn.Module, size: int) -> None:
        super().__init__()
        self.model, self.size = model, size
        self.dead = torch.nn.Linear(size, 1, bias=False)
        torch.nn.init.zeros_(self.dead.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.model(x)
        dead = self.dead(x.new_zeros(len(x), self.size))
        return out + dead.reshape(len(x), *[1] * (out.dim() - 1))


def threat_model_name(config: Any) -> str:
    """The threat model an attack's config names (its ``threat_model`` field)."""
    name = getattr(config, "threat_model", None)
    if name not in KNOWLEDGE:
        raise BenchError(
            f"a recon-attack method's config names its threat model in a field "
            f"threat_model, one of {', '.join(KNOWLEDGE)}; got {name!r}"
        )
    return name


def _check_attack(attack: Any) -> None:
    missing = [a for a in ("model", "loss", "reconstruct") if not hasattr(attack, a)]
    if missing or not isinstance(attack.model, torch.nn.Module):
        raise BenchError(
            "a recon-attack method returns an Attack (bench.tasks.recon_attack.api): a torch "
            f"module `model`, `loss(outputs, labels)` and `reconstruct(release)`; "
            f"{type(attack).__name__} lacks {', '.join(missing) or 'a torch module as model'}"
        )


def _pick(answer: Any, n: int) -> int:
    if isinstance(answer, torch.Tensor) and answer.numel() == 1:
        answer = answer.item()
    if isinstance(answer, bool) or not isinstance(answer, (int, np.integer)) or not 0 <= answer < n:
        raise BenchError(
            f"an identification attack answers a candidate index in [0, {n}), not {answer!r}"
        )
    return int(answer)


def _reconstruction(answer: Any, shape: torch.Size) -> torch.Tensor | None:
    if answer is None:
        return None
    if not isinstance(answer, torch.Tensor) or answer.numel() != shape.numel():
        raise BenchError(f"a reconstruction is a tensor of shape {tuple(shape)} or None")
    x_hat = answer.detach().double().reshape(shape)
    if not torch.isfinite(x_hat).all():
        raise BenchError("the attack returned a reconstruction with non-finite values")
    return x_hat


def _score_reconstructions(held: Held, answers: list, observations: np.ndarray) -> Scored:
    threat, images = held.threat, held.targets.images
    nmse = np.full(threat.trials, np.inf)
    ssims = np.full(threat.trials, np.nan) if held.knows == "label" else None
    for i, (answer, x) in enumerate(zip(answers, held.inputs, strict=True)):
        x_hat, x = _reconstruction(answer, x.shape), x.double()
        if x_hat is None:
            continue  # abstained: a failure
        if ssims is None:  # NMSE relative to the nominal norm the targets were rescaled to
            nmse[i] = float((x_hat - x).square().mean()) * threat.dim / threat.target_norm**2
        else:
            nmse[i] = float((x_hat - x).square().sum() / x.square().sum())
            ssims[i] = ssim(images[i], x_hat.numpy()[0])
    if ssims is not None and not np.isfinite(ssims).all():
        raise BenchError("a gradient-matching attack must return a reconstruction every trial")
    return scoring.score_reconstructions(
        nmse, observations, images, threat, held.mechanism.sigma, ssims
    )


PROTOCOL = ReconAttackProtocol()
