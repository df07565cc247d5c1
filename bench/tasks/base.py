"""The task protocol: who owns what in one cell (DESIGN.md, "Who owns what").

- The **task** (:class:`TaskProtocol`, one subpackage per task) owns the data, the
  held-out test and external sets, the threat model, the scoring and the risk block.
  :meth:`TaskProtocol.prepare` puts the private training records behind the cell's
  privacy ledger and returns a :class:`Prepared`: the *view* a method may see, and what
  the task keeps to itself (labels, targets).
- The **method** (:class:`MethodSpec`) is ``run(ctx, view, ledger) -> artifact``: it trains
  (on private data only through the ledger) and returns an artifact -- a classifier, a
  generator, an attack's reconstructions -- never a metric or a privacy block.
- The task scores the artifact (:meth:`TaskProtocol.score`) into metrics plus the
  per-example outputs they are computed from, and computes the risk of the ledger's runs;
  the runner asks the ledger for the privacy block and writes the record.
"""

from __future__ import annotations

import hashlib
import importlib
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from bench.privacy.budget import PrivacyBudget, format_epsilon
from bench.readout import Readout

if TYPE_CHECKING:
    from bench.privacy.ledger import PrivacyLedger


@dataclass(frozen=True)
class TaskSpec:
    """Metadata of a task: what it measures, its protocol, and how results are compared.

    Attributes:
        name: kebab-case id; it becomes a path component.
        version: bumped whenever data, preprocessing, the protocol or a metric changes;
            results of different versions are never compared.
        primary_metric: the metric that ranks methods; its direction comes from the
            metric registry.
        summary_metrics: the columns of the summary table.
        bound_metric: an optional theoretical curve drawn beside the primary metric.
        delta: the delta every cell of the task uses.
        datasets: dataset names the task accepts; the first is the built-in default.
        protocol: ``"module:attribute"`` of the task's :class:`TaskProtocol` (imported
            lazily, so that ``bench list`` loads no torch).
        settings: the task's protocol settings per profile (data sizes, patch size,
            data seed...): pinned by the task version, recorded in every record.
        external_site: True when the task scores on an external test site, which a user
            may name (``--external-data``) in place of the built-in one.
        records_per_subject: records one subject contributes to the private training set
            (cardiac-ldm: 2); above 1 records also state the subject-level epsilon.
        readout: what a person reads: the summary's columns and plots (default: the
            summary metrics as they are, one plot of the primary metric).
    """

    name: str
    version: int
    description: str
    primary_metric: str
    summary_metrics: tuple[str, ...]
    delta: float
    default_eps: tuple[float, ...]
    default_seeds: tuple[int, ...]
    default_methods: tuple[str, ...]
    datasets: tuple[str, ...]
    privacy_unit: str
    protocol: str
    settings: Mapping[str, Any]
    bound_metric: str | None = None
    external_site: bool = False
    records_per_subject: int = 1
    readout: Readout | None = None

    @property
    def package(self) -> str:
        """The task's subpackage (where its protocol, scoring and pinned data live)."""
        return self.protocol.partition(":")[0].rpartition(".")[0]

    def load_protocol(self) -> TaskProtocol:
        """The task's protocol object (imports its module on first use)."""
        module, _, attr = self.protocol.partition(":")
        return getattr(importlib.import_module(module), attr)


@dataclass(frozen=True)
class MethodSpec:
    """A reference (or third-party) method of a task.

    Attributes:
        configs: the method's frozen config for each profile.
        run: ``run(ctx, view, ledger) -> artifact``; import heavy modules inside it, or
            use :func:`lazy`.
    """

    task: str
    name: str
    description: str
    configs: Mapping[str, Any]
    run: Callable[[MethodContext, Any, PrivacyLedger], Any]


@dataclass(frozen=True)
class Cell:
    """One point of a grid: a method at one epsilon and one seed."""

    task: str
    method: str
    epsilon: float
    seed: int

    @property
    def label(self) -> str:
        return f"{self.method} eps={format_epsilon(self.epsilon)} seed={self.seed}"


def _no_progress(iterable, **_):
    return iterable


@dataclass(frozen=True)
class MethodContext:
    """What a method knows about its cell: no data path, no test labels, no targets.

    Attributes:
        config: the method's config for the profile, with the user's overrides.
        settings: the task's protocol settings for the profile (read-only facts such as
            the patch size; the data themselves come in the view).
        budget: the cell's target, for information: the ledger calibrates the noise.
        artifacts_dir: a folder of the cell for files the method wants to keep.
        progress: wraps an iterable in the run's progress display (``desc=``, ``unit=``).
    """

    cell: Cell
    task: TaskSpec
    profile: str
    config: Any
    settings: Any
    budget: PrivacyBudget
    device: str
    artifacts_dir: Path
    progress: Callable[..., Iterable] = _no_progress

    def derive_seed(self, *labels: object) -> int:
        """A seed from the cell seed and ``labels``, stable across runs and processes.

        The cell seed alone fixes the data, so every epsilon sees the same targets;
        include the epsilon or the method in ``labels`` for noise that should differ.
        """
        text = "/".join(str(x) for x in (self.cell.seed, *labels))
        return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "little")


@dataclass(frozen=True)
class CellContext(MethodContext):
    """The task's context: the method's, plus where the data are."""

    dataset: str = ""
    data_root: Path | None = None
    public_dataset: str | None = None
    public_data_root: Path | None = None
    external_dataset: str | None = None
    external_data_root: Path | None = None

    def for_method(self) -> MethodContext:
        """The same cell as a method sees it."""
        names = MethodContext.__dataclass_fields__
        return MethodContext(**{name: getattr(self, name) for name in names})


@dataclass(frozen=True)
class Prepared:
    """What :meth:`TaskProtocol.prepare` returns.

    Attributes:
        view: everything the method may see (public data, the ledger's handle of the
            private training records, test inputs without labels...).
        held: what only the task sees (labels, targets); never passed to the method.
        dataset: the record's ``dataset`` block (names, sizes, content hashes).
    """

    view: Any
    held: Any
    dataset: dict[str, Any]


@dataclass(frozen=True)
class Scored:
    """What :meth:`TaskProtocol.score` returns.

    Attributes:
        metrics: flat name -> finite number; CIs as ``<name>_ci_low`` / ``<name>_ci_high``.
        outputs: the per-example outputs the metrics are computed from (strict JSON).
        details: anything else the record states about the scoring and the artifact.
    """

    metrics: dict[str, float]
    outputs: dict[str, Any]
    details: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        bad = [k for k, v in self.metrics.items() if not math.isfinite(v)]
        if bad:
            raise ValueError(f"metrics must be finite numbers: {bad}")


class TaskProtocol(Protocol):
    """The three steps a task owns in every cell."""

    def prepare(self, ctx: CellContext, ledger: PrivacyLedger) -> Prepared:
        """Load the data, put the private training records behind ``ledger``."""

    def score(
        self, ctx: CellContext, prepared: Prepared, artifact: Any, ledger: PrivacyLedger
    ) -> Scored:
        """Score the method's artifact (recording the test-data access in ``ledger``)."""

    def risk(self, ctx: CellContext, ledger: PrivacyLedger) -> dict[str, Any]:
        """The reconstruction risk of the ledger's DP runs, in the task's units."""


def lazy(target: str) -> Callable[..., Any]:
    """A method runner imported on first call (``"package.module:function"``).

    Declarations stay import-light this way: ``bench list`` never loads torch.
    """
    module_name, _, attr = target.partition(":")

    def runner(ctx, view, ledger):
        return getattr(importlib.import_module(module_name), attr)(ctx, view, ledger)

    runner.__qualname__ = runner.__name__ = f"lazy({target})"
    runner.target_module = module_name  # where the method's code lives (the record's code)
    return runner
