"""Declarations of tasks and methods, and what a method receives and returns for one cell.

A task is a short declaration (metadata + registered methods); a method is a function of
a :class:`CellContext` returning a :class:`CellOutput`. The runner does everything else:
grid expansion, resume, records, summaries.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.privacy.budget import PrivacyBudget, format_epsilon


@dataclass(frozen=True)
class TaskSpec:
    """Metadata of a task: what it measures and how its results are compared.

    Attributes:
        name: kebab-case id; it becomes a path component.
        version: bumped whenever data, preprocessing or a metric changes; results of
            different versions are never compared.
        primary_metric: the metric that ranks methods; its direction comes from the
            metric registry.
        summary_metrics: the columns of the summary table.
        bound_metric: an optional theoretical curve drawn beside the primary metric.
        delta: the delta every cell of the task uses.
        datasets: dataset names the task accepts; the first is the built-in default.
        external_site: True when the task scores on an external test site, which a user
            may name (``--external-data``) in place of the built-in one.
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
    bound_metric: str | None = None
    external_site: bool = False


@dataclass(frozen=True)
class MethodSpec:
    """A reference (or third-party) method of a task.

    Attributes:
        configs: the method's frozen config for each profile.
        run: executes one cell; imports its heavy dependencies lazily.
    """

    task: str
    name: str
    description: str
    configs: Mapping[str, Any]
    run: Callable[[CellContext], CellOutput]


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


@dataclass(frozen=True)
class CellContext:
    """Everything a method needs to run one cell."""

    cell: Cell
    task: TaskSpec
    profile: str
    config: Any
    budget: PrivacyBudget
    dataset: str
    data_root: Path | None
    device: str
    artifacts_dir: Path
    progress: Callable[..., Iterable] = field(default=lambda it, **kw: it)
    public_dataset: str | None = None
    public_data_root: Path | None = None
    external_dataset: str | None = None
    external_data_root: Path | None = None

    def derive_seed(self, *labels: object) -> int:
        """A seed from the cell seed and ``labels``, stable across runs and processes.

        The cell seed alone fixes the data, so every epsilon sees the same targets;
        include the epsilon or the method in ``labels`` for noise that should differ.
        """
        text = "/".join(str(x) for x in (self.cell.seed, *labels))
        return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "little")


@dataclass(frozen=True)
class CellOutput:
    """What a method returns; the runner adds identity, config, code and environment.

    Attributes:
        metrics: flat name -> finite number; CIs as ``<name>_ci_low`` / ``<name>_ci_high``.
        privacy: the privacy block (see :mod:`bench.privacy.report`).
        risk: reconstruction risk of the released model's (sigma, q, steps).
        dataset: name, variant(s), size and content hash of the data used.
    """

    metrics: dict[str, float]
    privacy: dict[str, Any]
    risk: dict[str, Any]
    dataset: dict[str, Any]

    def __post_init__(self) -> None:
        bad = [k for k, v in self.metrics.items() if not math.isfinite(v)]
        if bad:
            raise ValueError(f"metrics must be finite numbers: {bad}")


def lazy(target: str) -> Callable[[CellContext], CellOutput]:
    """A method runner imported on first call (``"package.module:function"``).

    Task declarations stay import-light this way: ``bench list`` never loads torch.
    """
    module_name, _, attr = target.partition(":")

    def runner(ctx: CellContext) -> CellOutput:
        import importlib

        return getattr(importlib.import_module(module_name), attr)(ctx)

    runner.__qualname__ = runner.__name__ = f"lazy({target})"
    return runner
