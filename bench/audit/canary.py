"""White-box Dirac gradient canaries planted in a method's own DP-SGD run.

:class:`AuditLedger` is a :class:`~bench.privacy.ledger.PrivacyLedger` that a method trains
through exactly as through the cell's ledger (``ledger.train``). For each run it

1. adds canary *records* to the private records: m canaries, each included by a fair coin
   (Steinke et al.'s design); the included ones are copies of record 0 and go through the
   method's own sampling (Poisson through opacus's loader, or whatever the method does);
2. wraps the returned DP optimizer's ``pre_step`` (Nasr et al.'s white-box adversary, who
   controls the canary's gradient): every time a canary record is in the batch, its row of
   the per-sample gradients is replaced, *before* clipping, by a Dirac canary of norm
   ``DIRAC_NORM * C`` -- one coordinate in each large parameter tensor, weight
   1 / sqrt(tensors) each -- and the canary coordinates of the other rows are zeroed (dead
   coordinates the adversary built into the model);
3. reads the *released* gradient (after the method's clipping, noise and scaling) at each
   canary's coordinates, in units of the clipped canary: under honest DP-SGD a step
   holding the canary shows 1 + N(0, sigma^2), one without it N(0, sigma^2).

The score of a canary over the run is the log-likelihood ratio of the claimed mechanism
(each step: the canary with probability q, Gaussian noise sigma), the optimal test when the
claim is true; a mechanism that clips, samples or noises less than it claims gives larger
ratios to its included canaries. A second score, the ratio of a canary held by every step
(q = 1: the sum of its released values), is the optimal test against a run that samples
more than it claims; the trials bound chooses between the two on its selection quarter.
The canary coordinates of distinct canaries never overlap, so with the honest mechanism
(per-record clipping and sampling, independent noise per coordinate) the m canaries of a
run are m independent trials.

Example:
    >>> llr_scores([[1.0, 0.0]], sigma=1.0, sample_rate=1.0).round(2).tolist()  # 2 steps
    [0.0]
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bench.errors import BenchError
from bench.privacy.ledger import PrivacyLedger, PrivateData, Training

#: Norm of a canary's gradient before clipping, in units of the clipping bound: far above
#: it, so that honest clipping always acts and a missing clip shows at once.
DIRAC_NORM = 100.0


class AuditError(BenchError):
    """The audit cannot observe this run (no DP optimizer, rows it cannot match...)."""


def llr_scores(released, sigma: float, sample_rate: float) -> np.ndarray:
    """Log-likelihood ratio per canary of its released values (canaries x steps).

    Each step: in = (1 - q) N(0, s^2) + q N(1, s^2), out = N(0, s^2).
    """
    y = np.asarray(released, float)
    z = (y - 0.5) / sigma**2
    if sample_rate >= 1.0:
        return z.sum(axis=-1)
    steps = np.logaddexp(math.log1p(-sample_rate), math.log(sample_rate) + z)
    return steps.sum(axis=-1)


class LoggedRecords:
    """A dataset of the records plus the included canaries that notes every index read,
    so the auditor knows which rows of a batch are canaries, whatever loader is used."""

    def __init__(self, base, canary_copies: int):
        self.base, self.copies, self.fetched = base, canary_copies, []
        self._n, self._canary = len(base), None

    def __len__(self) -> int:
        return self._n + self.copies

    def _record(self, index: int):
        if index < self._n:
            return self.base[index]
        if self._canary is None:  # a canary's input is never trained on (its gradient is
            self._canary = self.base[0]  # replaced): one read of record 0 serves them all
        return self._canary

    def __getitem__(self, index):
        index = int(index)
        self.fetched.append(index)
        return self._record(index)

    def __getitems__(self, indices):
        """A whole batch at once (torch's loader calls this when it exists)."""
        indices = [int(i) for i in indices]
        self.fetched.extend(indices)
        return [self._record(i) for i in indices]

    def take(self, rows: int | None = None) -> list[int]:
        """The first ``rows`` indices read and not yet taken (all of them by default): a
        physical chunk of a logical batch (opacus's BatchMemoryManager) takes its share."""
        rows = len(self.fetched) if rows is None else rows
        taken, self.fetched = self.fetched[:rows], self.fetched[rows:]
        return taken


@dataclass
class CanaryRun:
    """The canaries of one DP run: where they live and what the adversary saw."""

    name: str
    included: np.ndarray  # (m,) bool: the coins
    slots: list[tuple[Any, Any]]  # (parameter, coordinate per canary (m,)) per tensor
    records: LoggedRecords
    sigma: float
    sample_rate: float
    max_grad_norm: float
    released: list[np.ndarray] = field(default_factory=list)  # per step: (m,)
    appearances: np.ndarray | None = None  # (m,) times each included canary was sampled

    @property
    def canaries(self) -> int:
        return len(self.included)

    def scores(self) -> np.ndarray:
        """The log-likelihood-ratio score of every canary (0 before any step)."""
        if not self.released:
            return np.zeros(self.canaries)
        return llr_scores(np.stack(self.released, axis=1), self.sigma, self.sample_rate)

    def every_step_scores(self) -> np.ndarray:
        """The log-likelihood ratio of a canary held by *every* step (q = 1, the sum of its
        released values): the same as :meth:`scores` when the claim is q = 1, the most
        powerful test when a run samples more often than it claims."""
        if not self.released:
            return np.zeros(self.canaries)
        return llr_scores(np.stack(self.released, axis=1), self.sigma, 1.0)

    def finish(self) -> None:
        """Drop the run's model, optimizer state and records (the per-sample gradients
        they hold are large): only what the adversary saw is kept."""
        self.slots, self.records = [], LoggedRecords((), 0)

    def observed_rate(self) -> float:
        """How often an included canary was in a batch, per released step."""
        if not self.released or not self.included.any():
            return 0.0
        return float(self.appearances[self.included].mean() / len(self.released))


@dataclass
class MemoLedger(PrivacyLedger):
    """A ledger whose accountant answers come from a memo shared by an audit's ledgers."""

    #: accountant answers by (history, delta, accountant), shared by an audit's ledgers:
    #: most of its runs have the same history (one calibration), and at q < 1 the RDP
    #: cross-check took about 3 s a run. The ledger's own checks still run every time.
    accounting_memo: dict = field(default_factory=dict)

    def _account(self, history: list) -> tuple[float, float | None, str | None]:
        budget = self.budget
        key = (tuple(tuple(run) for run in history), budget.delta, budget.accountant)
        if key not in self.accounting_memo:
            self.accounting_memo[key] = super()._account(history)
        return self.accounting_memo[key]


@dataclass
class AuditLedger(MemoLedger):
    """A ledger that plants and watches canaries in every DP run (see the module).

    Attributes:
        canaries: canaries per run (capped by the largest parameter tensor).
        seed: seed of the coins and of the canary coordinates.
    """

    canaries: int = 1000
    seed: int = 0
    audited: list[CanaryRun] = field(default_factory=list)

    def train(self, module, optimizer, data: PrivateData, **kwargs) -> Training:
        """:meth:`PrivacyLedger.train` on the records plus the included canaries, the DP
        optimizer watched by the auditor."""
        if not isinstance(data, PrivateData) or data._ledger is not self:
            raise BenchError("ledger.train takes the PrivateData this cell's ledger holds")
        rng = np.random.default_rng([self.seed, len(self.audited)])
        m = self._canary_count(optimizer)
        included = rng.random(m) < 0.5
        records = LoggedRecords(data._dataset(), int(included.sum()))
        planted = PrivateData(self, data.name, records, data.transforms)
        training = super().train(module, optimizer, planted, **kwargs)
        records.take()  # opacus reads a record to learn the shapes: not a batch
        if not training.is_private:
            raise AuditError("an audit needs a finite epsilon (a DP run to watch)")
        name = kwargs.get("name", "training")
        self._watch_run(training.optimizer, records, included, rng, name,
                        training.calibration, training.max_grad_norm, len(data))  # fmt: skip
        return training

    def watch_release(self, optimizer, base, mechanism, *, name: str) -> LoggedRecords:
        """Plant canaries in a DP optimizer that a task's own release code steps
        (``recon-attack``: the :class:`~bench.privacy.ledger.Mechanism` of
        :meth:`calibrated`, its opacus step): the same canaries, planting and reading as
        :meth:`train`'s. ``base`` holds the release's private records; the returned
        records are them plus the included canaries, and the release must build every
        batch by reading them (the auditor notes the reads to find the canary rows)."""
        if mechanism.accountant is None:
            raise AuditError("an audit needs a finite epsilon (a DP run to watch)")
        rng = np.random.default_rng([self.seed, len(self.audited)])
        included = rng.random(self._canary_count(optimizer)) < 0.5
        records = LoggedRecords(base, int(included.sum()))
        self._watch_run(optimizer, records, included, rng, name,
                        mechanism.calibration, mechanism.max_grad_norm, len(base))  # fmt: skip
        return records

    def _watch_run(self, optimizer, records, included, rng, name, calibration, clip, base):
        run = CanaryRun(
            name=name,
            included=included,
            slots=_slots(optimizer.params, len(included), rng),
            records=records,
            sigma=calibration.sigma,
            sample_rate=calibration.sample_rate,
            max_grad_norm=clip,
            appearances=np.zeros(len(included)),
        )
        _watch(optimizer, run, base_size=base)
        self.audited.append(run)

    def _canary_count(self, optimizer) -> int:
        params = [p for g in optimizer.param_groups for p in g["params"] if p.requires_grad]
        largest = max((p.numel() for p in params), default=0)
        if largest < 2:
            raise AuditError("the model has no parameter tensor to hold canaries")
        return min(self.canaries, largest)


def _slots(params, m: int, rng) -> list[tuple[Any, Any]]:
    """One coordinate per canary in every parameter tensor with at least m entries."""
    import torch

    slots = []
    for p in params:
        if p.numel() >= m:
            coords = torch.as_tensor(rng.permutation(p.numel())[:m], device=p.device)
            slots.append((p, coords))
    return slots


def _watch(optimizer, run: CanaryRun, base_size: int) -> None:
    """Wrap the optimizer's ``pre_step``: plant before clipping, read after noise."""
    original = optimizer.pre_step

    def pre_step(closure=None):
        _plant(optimizer, run, base_size)
        stepped = original(closure)
        if stepped:
            if run.records.fetched:
                raise AuditError(
                    f"{len(run.records.fetched)} records were read but never trained on in "
                    "this step: the auditor cannot tell which rows are canaries"
                )
            run.released.append(_read(optimizer, run))
        return stepped

    optimizer.pre_step = pre_step


def _canary_rows(run: CanaryRun, base_size: int, rows: int):
    """Rows of the batch that hold canary records, and which canary each one is."""
    fetched = run.records.take(rows)
    if len(fetched) != rows:
        raise AuditError(
            f"{len(fetched)} records were read for a batch of {rows} per-sample gradients: "
            "the auditor cannot tell which rows are canaries"
        )
    fetched = np.asarray(fetched, dtype=np.int64)
    where = np.flatnonzero(fetched >= base_size)
    ids = np.flatnonzero(run.included)  # canary record base_size + k is canary ids[k]
    return where, ids[fetched[where] - base_size]


def _plant(optimizer, run: CanaryRun, base_size: int) -> None:
    import torch

    params = [p for p in optimizer.params if getattr(p, "grad_sample", None) is not None]
    if not params:
        return
    where, canaries = _canary_rows(run, base_size, params[0].grad_sample.shape[0])
    np.add.at(run.appearances, canaries, 1)
    device = params[0].device
    rows = torch.as_tensor(where, device=device)
    others = torch.as_tensor(
        np.setdiff1d(np.arange(len(params[0].grad_sample)), where), device=device
    )
    weight = DIRAC_NORM * run.max_grad_norm / math.sqrt(len(run.slots))
    coords = {id(p): c for p, c in run.slots}
    for p in params:
        flat = p.grad_sample.view(p.grad_sample.shape[0], -1)
        flat.index_fill_(0, rows, 0.0)  # the canary's own gradient replaces the copy's
        if id(p) in coords:
            mine = coords[id(p)]
            flat[others[:, None], mine[None, :]] = 0.0  # dead coordinates for the records
            flat[rows, mine[torch.as_tensor(canaries, device=mine.device)]] = weight


def _read(optimizer, run: CanaryRun) -> np.ndarray:
    """The released gradient at every canary's coordinates, in clipped-canary units."""
    scale = 1.0
    if optimizer.loss_reduction == "mean":
        scale = optimizer.expected_batch_size * optimizer.accumulated_iterations
    unit = run.max_grad_norm / math.sqrt(len(run.slots))  # a clipped canary's coordinate
    total = 0.0
    for p, coords in run.slots:
        values = p.grad.detach().reshape(-1)[coords].double().cpu().numpy()
        total = total + values * scale / unit / len(run.slots)
    return np.asarray(total, float)
