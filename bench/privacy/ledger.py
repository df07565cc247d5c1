"""The privacy ledger: the one door to a cell's private data, and the one privacy-block builder.

The task puts the private training records behind the ledger (:meth:`PrivacyLedger.hold`);
a method receives them as an opaque :class:`PrivateData` handle it can count, transform
per record and train on, but not read. Training goes through :meth:`PrivacyLedger.train`,
which calibrates sigma for the cell's budget and the planned schedule (the method
chooses batch size, epochs and clipping bound, never sigma or the budget), wraps
model, optimizer and loader with opacus (Poisson sampling, per-sample clipping), and
reads the achieved epsilon back from the accountant afterwards. Several runs (a DP GAN
and a DP classifier) each take a share of the budget and are composed by the accountant.
Every other access -- the task's scoring on its test split, a method's direct read --
is recorded too, and :meth:`PrivacyLedger.privacy_block` states all of it.

A direct read (:meth:`PrivateData.unprotected`) is allowed, but it is recorded: at a
finite epsilon the block then refuses to be built, so such a cell writes no record.

Example:
    >>> import math, torch
    >>> from bench.privacy.budget import PrivacyBudget
    >>> ledger = PrivacyLedger(PrivacyBudget(math.inf, 1e-5), unit="one image")
    >>> data = ledger.hold("private training split", torch.zeros(8, 2), torch.zeros(8))
    >>> len(data), ledger.privacy_block()["achieved_epsilon"]  # nothing trained on it yet
    (8, 0.0)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from bench.errors import BenchError
from bench.privacy.accounting import (
    Calibration,
    accounting_context,
    calibrate,
    cross_check_of_history,
    epsilon_of_history,
    make_accountant,
    other_accountant,
)
from bench.privacy.budget import PrivacyBudget

NEIGHBOURING = "add/remove one record"
EVALUATION = "evaluation"  # the name of the task's scoring step on its held-out test data
DIRECT_READ = "direct read by the method"  # PrivateData.unprotected: voids a finite epsilon
# the per-sample gradient modes the ledger offers: opacus's, and fast-hooks
# (bench/privacy/fast_hooks.py); every one clips each sample's whole gradient at C
# (tests/bench/privacy/test_ledger.py checks each against a per-example loop)
GRAD_SAMPLE_MODES = ("hooks", "fast-hooks", "functorch", "ew", "ghost")


class PrivacyViolation(RuntimeError):
    """A claim the ledger cannot certify (achieved above target, an unprotected read)."""


@dataclass(frozen=True)
class PrivateStep:
    """One step that read private data, and how it was protected."""

    name: str
    data: str
    protection: str

    def as_dict(self) -> dict[str, str]:
        return {"name": self.name, "data": self.data, "protection": self.protection}


class PrivateData:
    """Private records behind the ledger: countable, transformable, trainable, not readable.

    Hold tensors whose first dimension is the record (or a ``torch.utils.data.Dataset``
    after :meth:`map`). Use :meth:`PrivacyLedger.train` to train on them.
    """

    def __init__(self, ledger: PrivacyLedger, name: str, content, transforms: tuple = ()):
        self._ledger, self._content = ledger, content
        self.name = name
        self.transforms: tuple[str, ...] = transforms

    def __len__(self) -> int:
        return len(self._content[0]) if isinstance(self._content, tuple) else len(self._content)

    def __repr__(self) -> str:
        return f"PrivateData({self.name!r}, {len(self)} records)"

    def map(self, fn: Callable[..., Any], what: str) -> PrivateData:
        """Records transformed by ``fn(*tensors)`` (new tensors, or a Dataset), still private.

        ``fn`` must be a fixed map of each record on its own (a frozen public encoder, a
        public normalisation): a statistic over several private records would escape the
        accountant (privacy rule 1). ``what`` describes it in the record.
        """
        out = fn(*self._content) if isinstance(self._content, tuple) else fn(self._content)
        return PrivateData(self._ledger, self.name, out, (*self.transforms, what))

    def with_public(self, *tensors, what: str) -> PrivateData:
        """The union with public records (e.g. synthetic data): DP then runs over the union."""
        import torch

        if not isinstance(self._content, tuple) or len(tensors) != len(self._content):
            raise BenchError(f"with_public needs {len(self._content)} tensors like the records")
        joined = tuple(
            torch.cat([a, torch.as_tensor(b)]) for a, b in zip(self._content, tensors, strict=True)
        )
        return PrivateData(self._ledger, f"{self.name} + {what}", joined, self.transforms)

    def unprotected(self, why: str):
        """The raw records. Recorded as an unprotected access: no finite epsilon is then
        claimed for the cell (its record is refused unless epsilon = inf)."""
        self._ledger._accesses.append(PrivateStep(DIRECT_READ, self.name, f"none: {why}"))
        return self._content

    def _dataset(self):
        from torch.utils.data import TensorDataset

        return TensorDataset(*self._content) if isinstance(self._content, tuple) else self._content


@dataclass
class Training:
    """What :meth:`PrivacyLedger.train` returns: the objects to train with.

    For the non-private budget (epsilon = inf) and for public data they are the
    originals, unwrapped, and ``engine`` is None.

    A loop that computes one loss per sample and calls ``training.loss(per_sample)
    .backward()`` runs unchanged in every grad-sample mode (``ghost`` included) and
    without DP.
    """

    module: Any
    optimizer: Any
    data_loader: Any
    calibration: Calibration | None
    max_grad_norm: float
    engine: Any | None = None
    grad_sample_mode: str = "hooks"
    loss_reduction: str = "mean"

    @property
    def is_private(self) -> bool:
        return self.engine is not None

    def loss(self, per_sample):
        """The batch loss to call ``.backward()`` on, from a vector of per-sample losses.

        The batch's mean (or sum, per ``loss_reduction``); in ``ghost`` mode opacus's
        loss, whose ``backward`` takes the two passes of ghost clipping (per-sample
        gradient norms, then the gradient of the clipped-weighted loss sum).
        """
        if per_sample.dim() != 1:
            raise BenchError(f"Training.loss takes one loss per sample, got {per_sample.shape}")
        if self.is_private and self.grad_sample_mode == "ghost":
            from opacus.utils.fast_gradient_clipping_utils import DPTensorFastGradientClipping

            return DPTensorFastGradientClipping(
                self.module, self.optimizer, per_sample, self.loss_reduction
            )
        return per_sample.mean() if self.loss_reduction == "mean" else per_sample.sum()

    def steps_taken(self) -> int:
        """DP steps recorded by the accountant (0 before training or without DP)."""
        return sum(t for _, _, t in self.engine.accountant.history) if self.engine else 0

    def achieved_epsilon(self) -> float:
        """Epsilon of the steps actually taken, from this run's accountant alone."""
        if self.engine is None:
            return math.inf
        if self.steps_taken() == 0:  # opacus's PRV accountant fails on an empty history
            return 0.0
        with accounting_context():
            return float(self.engine.accountant.get_epsilon(delta=self.calibration.budget.delta))


def public_training(module, optimizer, data, *, batch_size: int, loader_generator=None) -> Training:
    """The same :class:`Training` objects for *public* records (a tuple of tensors or a
    Dataset): a plain shuffled loader, no clipping, no noise, nothing to account.

    One loop then serves public pre-training and private training alike.
    """
    from torch.utils.data import DataLoader, TensorDataset

    dataset = TensorDataset(*data) if isinstance(data, tuple) else data
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=True, generator=loader_generator)
    return Training(module, optimizer, loader, None, math.inf)


def training_for(
    module,
    optimizer,
    data,
    *,
    ledger: PrivacyLedger | None,
    batch_size: int,
    epochs: int,
    max_grad_norm: float,
    name: str,
    share: float = 1.0,
    noise_generator=None,
    grad_sample_mode: str = "hooks",
) -> Training:
    """:meth:`PrivacyLedger.train` for the ledger's private records, :func:`public_training`
    for public ones: for a training loop that serves both."""
    if not isinstance(data, PrivateData):
        return public_training(module, optimizer, data, batch_size=batch_size)
    if ledger is None:
        raise ValueError("private records train only through their ledger")
    return ledger.train(
        module,
        optimizer,
        data,
        batch_size=batch_size,
        epochs=epochs,
        max_grad_norm=max_grad_norm,
        name=name,
        share=share,
        noise_generator=noise_generator,
        grad_sample_mode=grad_sample_mode,
    )


@dataclass(frozen=True)
class Mechanism:
    """A calibrated DP-SGD mechanism handed to the task's own release code (recon-attack).

    Attach ``accountant`` to the optimizer that takes the accounted steps; the ledger reads
    its history back.
    """

    calibration: Calibration
    max_grad_norm: float
    accountant: Any | None

    @property
    def sigma(self) -> float:
        return self.calibration.sigma


@dataclass
class _Run:
    name: str
    data: str
    calibration: Calibration
    max_grad_norm: float
    history: Callable[[], list]
    transforms: tuple[str, ...] = ()


@dataclass
class PrivacyLedger:
    """Every access of one cell to private data, and the budget they share.

    Attributes:
        budget: the cell's target (epsilon = inf: the non-private baseline).
        unit: the privacy unit (e.g. "one mass patch").
        records_per_subject: records one subject contributes (cardiac-ldm: 2, ED and ES);
            above 1 the block also states the subject-level epsilon (group privacy).
        secure_rng: draw opacus's noise and Poisson sampling from a cryptographically
            secure generator (opacus's ``secure_mode``, needs ``torchcsprng``); such
            noise cannot be seeded, so a cell is then not bit-for-bit reproducible.
        delta_source: where the budget's delta comes from, for ``how_obtained``.
    """

    budget: PrivacyBudget
    unit: str
    records_per_subject: int = 1
    secure_rng: bool = False
    delta_source: str = "the task's delta"
    _runs: list[_Run] = field(default_factory=list)
    _accesses: list[PrivateStep] = field(default_factory=list)
    _public: list[dict] = field(default_factory=list)
    _share_used: float = 0.0
    _voided: list[str] = field(default_factory=list)

    # -- the task's side ---------------------------------------------------------------

    def hold(self, name: str, *tensors) -> PrivateData:
        """Put private training records behind the ledger (called by the task)."""
        import torch

        content = tuple(torch.as_tensor(t) for t in tensors)
        if len({len(t) for t in content}) != 1:
            raise BenchError(f"{name}: tensors of different lengths")
        _warn_large_delta(self.budget, len(content[0]), name)
        return PrivateData(self, name, content)

    def record_access(
        self, name: str, data: str, protection: str, *, voids_epsilon: bool = False
    ) -> None:
        """A read of private data that is not DP training (the task's scoring, say).

        ``voids_epsilon``: the access is covered by no DP guarantee (a synthetic set
        published by a GAN trained without DP on these records): the block then states
        no achieved epsilon (null) at any target, and the leaderboard refuses it a DP row.
        """
        self._accesses.append(PrivateStep(name, data, protection))
        if voids_epsilon:
            self._voided.append(name)

    def record_evaluation(self, data: str) -> None:
        """The task's scoring on its held-out private test data (DESIGN rule 4)."""
        self.record_access(
            EVALUATION,
            data,
            "none: scores only, nothing is trained, selected or stopped on them; the "
            "metric values themselves are not differentially private",
        )

    # -- the method's side -------------------------------------------------------------

    def note_public(self, name: str, data: str, **details: Any) -> None:
        """State a step that used public data only (privacy rule 1), for the record."""
        self._public.append({"name": name, "data": data, **details})

    def share_left(self) -> float:
        """The fraction of the budget not yet given to a run."""
        return 1.0 - self._share_used

    def calibrated(
        self,
        name: str,
        data: PrivateData,
        *,
        sample_rate: float,
        steps: int,
        max_grad_norm: float,
        share: float = 1.0,
    ) -> Mechanism:
        """A mechanism calibrated to ``share`` of the budget for a planned schedule.

        ``share`` of epsilon and of delta go to this run; the shares of a cell add up to
        at most 1, so basic composition alone bounds the total by the budget, and the
        record states the tighter epsilon of the accountant composing all runs.
        The caller draws the noise itself, so a secure-RNG ledger refuses: only
        :meth:`train` can guarantee opacus's secure generator.
        """
        if self.secure_rng:
            raise BenchError(
                "--secure-rng applies to training through ledger.train; this run draws its "
                "noise in its own (seeded) release code"
            )
        return self._mechanism(name, data, sample_rate, steps, max_grad_norm, share)

    def _mechanism(self, name, data, sample_rate, steps, max_grad_norm, share) -> Mechanism:
        from bench.locks import stop_deferring

        stop_deferring()  # private work begins: a --jobs worker no longer defers this cell
        budget = self._take(share)
        cal = calibrate(budget, sample_rate, steps)
        if not budget.is_private:
            self._runs.append(_Run(name, data.name, cal, math.inf, list, data.transforms))
            return Mechanism(cal, math.inf, None)
        accountant = make_accountant(budget.accountant)
        history = lambda: list(accountant.history)  # noqa: E731  (read after training)
        self._runs.append(_Run(name, data.name, cal, max_grad_norm, history, data.transforms))
        return Mechanism(cal, max_grad_norm, accountant)

    def train(
        self,
        module,
        optimizer,
        data: PrivateData,
        *,
        batch_size: int,
        epochs: int,
        max_grad_norm: float,
        name: str = "training",
        share: float = 1.0,
        loader_generator=None,
        noise_generator=None,
        grad_sample_mode: str = "hooks",
        loss_reduction: str = "mean",
    ) -> Training:
        """DP-SGD on ``data`` for ``epochs`` epochs at ``share`` of the cell's budget.

        Poisson sampling at q = 1 / (batches per epoch), epochs / q steps, per-sample
        clipping at ``max_grad_norm`` and noise calibrated by the ledger; at epsilon = inf
        the same schedule without clipping or noise (shuffled batches).

        Args:
            loader_generator: torch generator of the batch order (non-private runs).
            noise_generator: torch generator of opacus's noise and Poisson sampler.
            grad_sample_mode: the per-sample gradient mode (:data:`GRAD_SAMPLE_MODES`):
                opacus's ``hooks``, ``functorch``, ``ew`` or ``ghost`` (ghost / fast
                gradient clipping; the loop must then back-propagate
                ``Training.loss(per_sample)``), or ``fast-hooks`` (opacus's hooks without
                their wasted work, :mod:`bench.privacy.fast_hooks`).
                Every mode clips each sample's gradient at ``max_grad_norm`` the same way;
                they differ in speed and memory (``python -m benchmarks.dp_overhead``).
            loss_reduction: ``mean`` or ``sum``: how the training loop reduces the batch's
                loss (a mismatch silently rescales the per-sample gradients).
        """
        from torch import nn
        from torch.utils.data import DataLoader

        if not isinstance(data, PrivateData) or data._ledger is not self:
            raise BenchError("ledger.train takes the PrivateData this cell's ledger holds")
        if grad_sample_mode not in GRAD_SAMPLE_MODES:
            raise BenchError(
                f"grad_sample_mode must be one of {', '.join(GRAD_SAMPLE_MODES)}, "
                f"not {grad_sample_mode!r}"
            )
        loader = DataLoader(
            data._dataset(), batch_size=batch_size, shuffle=True, generator=loader_generator
        )
        mech = self._mechanism(
            name,
            data,
            1.0 / len(loader),  # opacus's Poisson rate: batch size / records
            epochs * len(loader),
            max_grad_norm,
            share,
        )
        if mech.accountant is None:
            return Training(module, optimizer, loader, mech.calibration, math.inf,
                            loss_reduction=loss_reduction)  # fmt: skip
        from opacus import PrivacyEngine

        engine = PrivacyEngine(accountant=self.budget.accountant, secure_mode=self.secure_rng)
        engine.accountant = mech.accountant  # the ledger reads this one back
        if self.secure_rng:  # opacus refuses a seeded generator in secure mode
            noise_generator = None
        if grad_sample_mode == "fast-hooks":  # opacus takes the module it already wraps
            from bench.privacy.fast_hooks import wrap

            module = wrap(module, loss_reduction=loss_reduction)
        wrapped = engine.make_private(
            module=module,
            optimizer=optimizer,
            data_loader=loader,
            noise_multiplier=mech.sigma,
            max_grad_norm=max_grad_norm,
            poisson_sampling=True,
            grad_sample_mode="hooks" if grad_sample_mode == "fast-hooks" else grad_sample_mode,
            loss_reduction=loss_reduction,
            noise_generator=noise_generator,
            criterion=nn.MSELoss(reduction=loss_reduction),  # used by ghost mode only
        )
        # ghost mode also returns a criterion wrapper; Training.loss replaces it, so that a
        # loop works from per-sample losses whatever its loss function
        module, optimizer, loader = wrapped[0], wrapped[1], wrapped[-1]
        if grad_sample_mode == "ghost":
            _refuse_unclipped_steps(module, optimizer)
        return Training(module, optimizer, loader, mech.calibration, max_grad_norm, engine,
                        grad_sample_mode, loss_reduction)  # fmt: skip

    # -- the runner's side -------------------------------------------------------------

    @property
    def runs(self) -> list[dict[str, Any]]:
        """Every run on private data: name, sigma, q, accounted steps (0 without DP) and the
        planned schedule's steps (sigma 0: non-private)."""
        return [
            {
                "name": run.name,
                "noise_multiplier": run.calibration.sigma,
                "sample_rate": run.calibration.sample_rate,
                "steps": _steps(run),
                "planned_steps": run.calibration.steps,
            }
            for run in self._runs
        ]

    def _account(self, history: list) -> tuple[float, float | None, str | None]:
        """The budget's accountant's epsilon of ``history``, and the other one's cross-check
        (its epsilon, or ``None`` and why)."""
        budget = self.budget
        achieved = epsilon_of_history(history, budget.delta, budget.accountant)
        return achieved, *cross_check_of_history(history, budget.delta, budget.accountant)

    def privacy_block(self) -> dict[str, Any]:
        """The record's privacy block; raises :class:`PrivacyViolation` for a claim that
        cannot be certified (achieved above target, an unprotected read at finite eps)."""
        budget = self.budget
        if budget.is_private and self._read_directly():
            raise PrivacyViolation(
                "the method read private records without protection "
                "(PrivateData.unprotected): no finite epsilon can be claimed; run it at eps=inf"
            )
        history = [r for run in self._runs for r in run.history()]
        if budget.is_private:
            achieved, cross, cross_note = self._account(history)
            if not achieved <= budget.epsilon:
                raise PrivacyViolation(
                    f"achieved epsilon {achieved:.4f} exceeds target {budget.epsilon}"
                )
        else:
            achieved, cross, cross_note = math.inf, math.inf, None
        last = self._runs[-1] if self._runs else None
        block = {
            "target_epsilon": _finite_or_none(budget.epsilon),
            "achieved_epsilon": self._achieved_field(achieved),
            "delta": budget.delta,
            "noise_multiplier": last.calibration.sigma if last else 0.0,
            "sample_rate": last.calibration.sample_rate if last else 0.0,
            "steps": _steps(last) if last else 0,
            "max_grad_norm": _finite_or_none(last.max_grad_norm) if last else None,
            "sampling": "poisson",
            "accountant": budget.accountant,
            "cross_check": {
                "accountant": other_accountant(budget.accountant),
                "epsilon": self._cross_field(cross),
            },
            "neighbouring": NEIGHBOURING,
            "unit": self.unit,
            "how_obtained": self._how(),
            "private_data_steps": [s.as_dict() for s in self._steps()],
            "public_data_steps": list(self._public),
        }
        if cross_note:
            block["cross_check"]["note"] = cross_note
        if self.secure_rng:  # absent: seeded (records before --secure-rng read the same)
            block["rng"] = "secure"
        if len(self._runs) > 1:
            block["runs"] = self.runs
        if self.records_per_subject > 1 and budget.is_private and history:
            from bench.privacy.group import subject_level

            k = self.records_per_subject
            block["subject_level"] = subject_level(history, budget.delta, budget.accountant, k)
        return block

    # -- internals ---------------------------------------------------------------------

    def _take(self, share: float) -> PrivacyBudget:
        if not 0 < share <= self.share_left() + 1e-12:
            raise BenchError(
                f"a run asked for {share:g} of the budget; {self.share_left():g} is left"
            )
        self._share_used += share
        b = self.budget
        if not b.is_private:
            return b
        return PrivacyBudget(b.epsilon * share, b.delta * share, b.accountant)

    def _read_directly(self) -> bool:
        return any(step.name == DIRECT_READ for step in self._accesses)

    def _achieved_field(self, achieved: float) -> float | None:
        """0 when nothing was trained on private data, ``null`` when not private."""
        if self._read_directly() or self._voided or (self._runs and not math.isfinite(achieved)):
            return None
        return achieved if self._runs else 0.0

    def _cross_field(self, cross: float) -> float | None:
        if self._voided:
            return None
        return _finite_or_none(cross) if self._runs else 0.0

    def _steps(self) -> list[PrivateStep]:
        trained = [
            PrivateStep(
                run.name,
                run.data + "".join(f"; {t}" for t in run.transforms),
                _protection(run, self.budget),
            )
            for run in self._runs
        ]
        return trained + self._accesses

    def _how(self) -> str:
        if self._voided:
            return f"no epsilon: {', '.join(self._voided)} is not differentially private"
        if not self._runs:
            return "no model was trained on private data: epsilon 0 for the trained artifact"
        if not self.budget.is_private:
            return "non-private baseline: no clipping, no noise"
        shares = ", ".join(f"{r.name}: {_share(r, self.budget):g}" for r in self._runs)
        return (
            f"sigma of each run calibrated by the privacy ledger with opacus "
            f"{self.budget.accountant} for its planned schedule and its share of the budget "
            f"({shares}); the accountants' histories read back after training and composed "
            f"at {self.delta_source}"
        )


class LargeDeltaWarning(UserWarning):
    """delta >= 1 / N: a mechanism that publishes one random record would meet it."""


def _warn_large_delta(budget: PrivacyBudget, records: int, name: str) -> None:
    if budget.is_private and records and budget.delta >= 1.0 / records:
        import warnings

        warnings.warn(
            f"delta {budget.delta:g} >= 1/N for the {records} records of the {name}: "
            "releasing one record at random would satisfy such a guarantee; choose "
            "--delta well below 1/N",
            LargeDeltaWarning,
            stacklevel=3,
        )


def _refuse_unclipped_steps(module, optimizer) -> None:
    """In ghost mode a plain ``loss.backward()`` leaves the *unclipped* gradient in
    ``p.grad`` and opacus's optimizer would noise and apply it as if it were clipped. Only
    ``Training.loss(...).backward()`` computes the per-sample norms (``get_norm_sample``):
    a step without fresh norms is refused before the accountant records it or the
    parameters move."""
    account = optimizer.step_hook

    def checked(opt) -> None:
        if module._per_sample_gradient_norms is None:
            raise PrivacyViolation(
                "ghost mode: the gradient did not come from Training.loss(per_sample)"
                ".backward(), so it is not clipped per sample; step refused"
            )
        module._per_sample_gradient_norms = None  # the next step needs its own norms
        account(opt)

    optimizer.attach_step_hook(checked)


def _steps(run: _Run) -> int:
    return sum(int(t) for _, _, t in run.history())


def _share(run: _Run, budget: PrivacyBudget) -> float:
    return round(run.calibration.budget.epsilon / budget.epsilon, 6)


def _protection(run: _Run, budget: PrivacyBudget) -> str:
    if not budget.is_private:
        return "none: non-private baseline (epsilon = inf), same fixed schedule"
    return (
        f"DP-SGD (opacus): Poisson sampling, per-sample clipping at C={run.max_grad_norm:g}, "
        "Gaussian noise calibrated by the ledger, accounted"
    )


def _finite_or_none(value: float | None) -> float | None:
    """Strict JSON has no Infinity: the non-private case (or none known) is ``null``."""
    return value if value is not None and math.isfinite(value) else None


__all__: Sequence[str] = (
    "EVALUATION",
    "GRAD_SAMPLE_MODES",
    "LargeDeltaWarning",
    "Mechanism",
    "PrivacyLedger",
    "PrivacyViolation",
    "PrivateData",
    "PrivateStep",
    "Training",
    "public_training",
    "training_for",
)
