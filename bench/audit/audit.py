"""Audit a registered method: run its own DP training under the auditing ledger, then
turn the canaries' scores into epsilon lower bounds next to its claim.

Each audit run is one cell of the method's own task (its protocol, its data, its config
for the profile, a fresh seed) with an :class:`~bench.audit.canary.AuditLedger` in place
of the cell's ledger; nothing is scored and nothing is written. A method that trains
nothing through ``ledger.train`` is audited through its task's own DP release when the
task's protocol offers one (``audit_release(ctx, prepared, output, ledger)``:
``recon-attack``, whose release steps go through
:meth:`~bench.audit.canary.AuditLedger.watch_release`). The canaries of all runs are
pooled:

- ``epsilon_trials``: the canaries as independent trials (in vs out), Clopper-Pearson on
  both rates (:func:`bench.audit.bounds.audit_tests`): tight, and valid when the canaries
  are independent, as they are under the mechanism the ledger claims; the selection
  quarter of the trials picks the score (the claimed mechanism's likelihood ratio, or,
  when the claim is q < 1, that of a canary in every step) and its threshold;
- ``epsilon_one_run``: Steinke et al.'s bound (:func:`bench.audit.one_run.audit_one_run`),
  which needs no independence between the canaries of a run.

``AuditPlan(canary="input")`` audits with black-box input canaries instead
(:mod:`bench.audit.inputs`: records the task builds, planted in the held split before the
method runs, scored on its artifact); only the one-run bound is valid for them.

Each is computed at confidence (1 + c) / 2, so that the larger of the two, the audit's
lower bound, holds at the stated confidence c (a union bound);
:attr:`AuditResult.exceeds_claim` flags a lower bound above the claimed epsilon.
"""

from __future__ import annotations

import math
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from bench.audit.bounds import audit_tests
from bench.audit.canary import AuditError, AuditLedger, CanaryRun, MemoLedger
from bench.audit.one_run import audit_one_run
from bench.errors import BenchError


@dataclass(frozen=True)
class AuditResult:
    """An audit of one method at one epsilon: the claim and the empirical lower bounds."""

    task: str
    method: str
    target_epsilon: float
    claimed_epsilon: float
    delta: float
    confidence: float
    epsilon_trials: float | None  # None for input canaries (not independent trials)
    epsilon_one_run: float
    runs: int
    canaries: int
    noise_multiplier: float
    sample_rate: float
    steps: int
    observed_rate: float | None  # None for input canaries (the auditor sees no step)
    wall_time_s: float
    trials: dict
    one_run: dict
    canary: str = "gradient"

    @property
    def epsilon_lower_bound(self) -> float:
        return max(self.epsilon_trials or 0.0, self.epsilon_one_run)

    @property
    def exceeds_claim(self) -> bool:
        """A lower bound above the claim: the claim is false (at the stated confidence)."""
        return self.epsilon_lower_bound > self.claimed_epsilon

    def as_dict(self) -> dict:
        return {
            **asdict(self),
            "epsilon_lower_bound": self.epsilon_lower_bound,
            "exceeds_claim": self.exceeds_claim,
        }


@dataclass(frozen=True)
class AuditPlan:
    """How hard to audit: runs of the method, canaries per run, confidence, profile, and
    the canaries' kind (``gradient``: white-box Dirac gradients; ``input``: black-box
    records the task builds)."""

    runs: int = 4
    canaries: int = 1000
    confidence: float = 0.95
    profile: str = "smoke"
    seed: int = 0
    canary: str = "gradient"

    def check(self) -> None:
        if self.runs < 1 or self.canaries < 4 or not 0.5 <= self.confidence < 1:
            raise BenchError(
                f"an audit needs runs >= 1, canaries >= 4 and confidence in [0.5, 1), got "
                f"runs={self.runs}, canaries={self.canaries}, confidence={self.confidence}"
            )
        if self.canary not in CANARY_KINDS:
            raise BenchError(f"canary kind {self.canary!r}: choose {' or '.join(CANARY_KINDS)}")


CANARY_KINDS = ("gradient", "input")


def audit_method(
    task: str, method: str, epsilon: float, plan: AuditPlan, progress=None
) -> AuditResult:
    """Run ``method`` of ``task`` ``plan.runs`` times under the auditing ledger at
    ``epsilon`` and bound its epsilon from below.

    ``progress(done, runs, seconds)``, when given, is called after every run.
    """
    plan.check()
    if not (0 < epsilon < math.inf):
        raise BenchError(f"an audit needs a finite epsilon > 0, got {epsilon}")
    if plan.canary == "input":
        return _audit_inputs(task, method, epsilon, plan, progress)
    start = time.perf_counter()
    runs, claims, memo = [], [], {}
    with tempfile.TemporaryDirectory(prefix="privmedbench-audit-") as out:
        for r in range(plan.runs):
            ledger = _audited_cell(task, method, epsilon, plan, r, Path(out), memo)
            if not ledger.audited:
                raise AuditError(
                    f"{method} trained nothing through ledger.train and its task has no "
                    "audit_release: no DP run"
                )
            claims.append(_claim(ledger, method))
            for canary_run in ledger.audited:
                canary_run.finish()  # many runs: keep the observations, not the models
            runs += ledger.audited
            if progress is not None:
                progress(r + 1, plan.runs, time.perf_counter() - start)
    return _result(task, method, epsilon, plan, runs, claims, time.perf_counter() - start)


def _audited_cell(
    task, method, epsilon, plan: AuditPlan, run: int, out: Path, memo: dict
) -> AuditLedger:
    """One run of ``method``'s cell under an :class:`AuditLedger` (``memo``: the audit's
    shared accountant answers)."""
    from bench.runner import cell_thread_limit
    from bench.tasks import get_method

    spec, request, ctx, seed = _context(task, method, epsilon, plan, run, out)
    ledger = AuditLedger(
        ctx.budget, unit=spec.privacy_unit, canaries=plan.canaries, seed=seed,
        accounting_memo=memo,
    )  # fmt: skip
    protocol = spec.load_protocol()
    # a cell's thread count: an audit reuses a board's cached parts and trains as its cells
    with cell_thread_limit(request, ctx.device):
        prepared = protocol.prepare(ctx, ledger)
        output = get_method(task, method).run(ctx.for_method(), prepared.view, ledger)
        release = getattr(protocol, "audit_release", None)
        if not ledger.audited and release is not None:  # the task's own DP release
            release(ctx, prepared, output, ledger)
    return ledger


def _context(task, method, epsilon, plan: AuditPlan, run: int, out: Path):
    """The task's spec, the request and context of audit run ``run`` (a fresh cell seed)
    and its seed; the process's generators seeded as the runner seeds a cell's."""
    from bench.runner import RunRequest, _seed_everything, make_context
    from bench.tasks import get_task

    spec = get_task(task)
    seed = plan.seed * 10_000 + run
    request = RunRequest(task, (epsilon,), (method,), (seed,), plan.profile, spec.datasets[0], out)
    ctx = make_context(request, _cell(task, method, epsilon, seed))
    _seed_everything(ctx.derive_seed("global", method, epsilon))
    return spec, request, ctx, seed


def _audit_inputs(task, method, epsilon, plan: AuditPlan, progress) -> AuditResult:
    """The audit with black-box input canaries (:mod:`bench.audit.inputs`)."""
    from bench.runner import cell_thread_limit
    from bench.tasks import get_method

    start = time.perf_counter()
    scores, included, claims, memo = [], [], [], {}
    with tempfile.TemporaryDirectory(prefix="privmedbench-audit-") as out:
        for r in range(plan.runs):
            spec, request, ctx, seed = _context(task, method, epsilon, plan, r, Path(out))
            protocol = spec.load_protocol()
            make = getattr(protocol, "input_canaries", None)
            if make is None:
                raise AuditError(f"{task} offers no input canaries; audit it with gradient ones")
            ledger = MemoLedger(ctx.budget, unit=spec.privacy_unit, accounting_memo=memo)
            with cell_thread_limit(request, ctx.device):
                prepared = protocol.prepare(ctx, ledger)
                canaries = make(ctx, prepared, plan.canaries, seed)
                coins = np.random.default_rng([seed, 1]).random(len(canaries)) < 0.5
                canaries.plant(coins)
                output = get_method(task, method).run(ctx.for_method(), prepared.view, ledger)
                if not ledger.runs:
                    raise AuditError(f"{method} trained nothing through ledger.train: no DP run")
                scores.append(canaries.scores(output))
            claims.append(_claim(ledger, method))
            included.append(coins)
            if progress is not None:
                progress(r + 1, plan.runs, time.perf_counter() - start)
    delta, claim = claims[0]["delta"], claims[0]
    one_run = audit_one_run(
        np.concatenate(scores), np.concatenate(included), delta=delta, confidence=plan.confidence
    )
    return AuditResult(
        task=task,
        method=method,
        target_epsilon=epsilon,
        claimed_epsilon=max(c["achieved_epsilon"] for c in claims),
        delta=delta,
        confidence=plan.confidence,
        epsilon_trials=None,
        epsilon_one_run=one_run.epsilon,
        runs=plan.runs,
        canaries=int(sum(len(s) for s in scores)),
        noise_multiplier=claim["noise_multiplier"],
        sample_rate=claim["sample_rate"],
        steps=claim["steps"],
        observed_rate=None,
        wall_time_s=round(time.perf_counter() - start, 3),
        trials={"note": "input canaries share one model per run: not independent trials"},
        one_run=one_run.as_dict(),
        canary="input",
    )


def _claim(ledger: AuditLedger, method: str) -> dict:
    """The privacy block the ledger certifies for the audited run (the claim)."""
    from bench.privacy.ledger import PrivacyViolation

    try:
        return ledger.privacy_block()
    except PrivacyViolation as exc:  # the ledger's own checks caught it: no claim to audit
        raise AuditError(f"the ledger refuses {method}'s claim itself: {exc}") from None


def _cell(task, method, epsilon, seed):
    from bench.tasks.base import Cell

    return Cell(task, method, epsilon, seed)


def _result(task, method, epsilon, plan, runs: list[CanaryRun], claims, wall) -> AuditResult:
    scores = np.concatenate([run.scores() for run in runs])
    every = np.concatenate([run.every_step_scores() for run in runs])
    included = np.concatenate([run.included for run in runs])
    delta, each = claims[0]["delta"], (1.0 + plan.confidence) / 2
    tests = {"llr": (scores[included], scores[~included])}
    if any(run.sample_rate < 1.0 for run in runs):  # at q = 1 the two scores coincide
        tests["every-step"] = (every[included], every[~included])
    trials = audit_tests(tests, delta=delta, confidence=each)
    one_run = audit_one_run(scores, included, delta=delta, confidence=each)
    claimed = max(c["achieved_epsilon"] for c in claims)
    first = runs[0]
    return AuditResult(
        task=task,
        method=method,
        target_epsilon=epsilon,
        claimed_epsilon=claimed,
        delta=delta,
        confidence=plan.confidence,
        epsilon_trials=trials.epsilon,
        epsilon_one_run=one_run.epsilon,
        runs=plan.runs,
        canaries=int(sum(run.canaries for run in runs)),
        noise_multiplier=first.sigma,
        sample_rate=first.sample_rate,
        steps=len(first.released),
        observed_rate=first.observed_rate(),
        wall_time_s=round(wall, 3),
        trials=trials.as_dict(),
        one_run=one_run.as_dict(),
    )
