"""Regression tracking: compare two result sets cell by cell, metric by metric.

Cells are matched on (task, task version, method, epsilon, seed); versions are never
compared with each other. A metric got worse when it moved against its direction (the
record's ``higher_is_better``) by more than its tolerance. One seed is noise (a smoke
AUROC moves by more than a bad learning rate does), so the gate is a **verdict per
(method, epsilon) over seeds**, paired by seed: the mean paired change against the
tolerance. A cell of the base that the new set lacks, or a metric that it no longer
reports (null, NaN, not a number), is a failure too: a regression must not hide behind
a crash.

By default the gate is each task's primary metric, with the task's tolerance
(:data:`TASK_TOLERANCES`); other metrics are shown and gate only when named
(``--metrics``, ``--tolerance``) or given ``--default-tolerance``.

Example:
    >>> tol = parse_tolerances(["success_empirical=0.02", "mse_mean=50%"])
    >>> tol["success_empirical"].allowed(0.5), tol["mse_mean"].allowed(0.2)
    (0.02, 0.1)
    >>> judge(0.50, 0.47, higher=True, tolerance=tol["success_empirical"])
    'worse'
    >>> judge(0.50, 0.49, higher=True, tolerance=tol["success_empirical"])
    'ok'
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.errors import BenchError, RecordError
from bench.metrics import base_name
from bench.privacy.budget import parse_epsilon
from bench.records import load_record, metrics_problem

CellKey = tuple[str, int, str, float, int]  # task, version, method, epsilon, seed
GroupKey = tuple[str, int, str, float]  # task, version, method, epsilon
FAILING = ("worse", "missing")
_ROUNDING = 1e-12  # identical runs must compare equal despite float printing


@dataclass(frozen=True)
class Tolerance:
    """How much a metric may get worse: absolute, or relative to the base value."""

    value: float = 0.0
    relative: bool = False

    def allowed(self, base: float) -> float:
        return self.value * abs(base) if self.relative else self.value

    def __str__(self) -> str:
        return f"{100 * self.value:g}%" if self.relative else f"{self.value:g}"


# How much each task's primary metric may get worse, on the mean over seeds, before a
# pull request fails: about one standard error of the metric at the small profile
# (recon-attack: a success rate over 1000 trials, sqrt(0.25 / 1000) = 0.016; mammo-cls:
# the bootstrap CI of an AUROC on 600 patches is about +-0.035; cardiac-ldm: FID, 10%).
TASK_TOLERANCES = {
    "recon-attack": Tolerance(0.02),
    "mammo-cls": Tolerance(0.02),
    "cardiac-ldm": Tolerance(0.10, relative=True),
}


@dataclass(frozen=True)
class Delta:
    """One compared (cell, metric); values are ``None`` on the side that lacks them."""

    cell: CellKey
    metric: str
    base: float | None
    new: float | None
    base_ci: tuple[float, float] | None
    new_ci: tuple[float, float] | None
    tolerance: Tolerance
    status: str  # ok | better | worse | missing | new
    gating: bool = True  # False: shown, but a worse value fails nothing


@dataclass(frozen=True)
class Verdict:
    """One (method, epsilon, metric) over the seeds both sides have, paired by seed."""

    group: GroupKey
    metric: str
    seeds: int
    base_mean: float
    new_mean: float
    gain: float  # mean paired change in the metric's direction (negative: worse)
    gain_se: float  # its standard error over seeds (0 with one seed)
    worse_seeds: int
    tolerance: Tolerance
    status: str  # ok | better | worse
    gating: bool


@dataclass
class Comparison:
    """Every delta of a comparison, the verdicts over seeds, and notes that fail nothing."""

    deltas: list[Delta] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def verdicts(self) -> list[Verdict]:
        return verdicts(self.deltas)

    @property
    def failed(self) -> list[Delta | Verdict]:
        """Missing cells and metrics, and gating verdicts that got worse."""
        missing = [d for d in self.deltas if d.status == "missing"]
        return missing + [v for v in self.verdicts if v.gating and v.status == "worse"]

    def counts(self) -> dict[str, int]:
        statuses = ("worse", "missing", "better", "new", "ok")
        return {s: sum(d.status == s for d in self.deltas) for s in statuses}


def parse_tolerances(items: list[str]) -> dict[str, Tolerance]:
    """Parse ``metric=0.02`` (absolute) and ``metric=5%`` (relative to the base value)."""
    tolerances = {}
    for item in items:
        name, sep, text = item.partition("=")
        try:
            relative = text.strip().endswith("%")
            value = float(text.strip().rstrip("%")) / (100 if relative else 1)
        except ValueError:
            value = -1.0
        if not sep or not name.strip() or not value >= 0:
            raise BenchError(f"bad --tolerance {item!r}: expected METRIC=0.02 or METRIC=5%")
        tolerances[name.strip()] = Tolerance(value, relative)
    return tolerances


def judge(base: float, new: float, *, higher: bool, tolerance: Tolerance) -> str:
    """``worse`` beyond the tolerance, ``better`` for any gain, else ``ok``."""
    gain = (new - base) if higher else (base - new)
    if gain < -tolerance.allowed(base) - _ROUNDING:
        return "worse"
    return "better" if gain > _ROUNDING else "ok"


def load_cells(root: Path, notes: list[str] | None = None) -> dict[CellKey, dict[str, Any]]:
    """The records below ``root`` keyed by cell; duplicated cells are an error.

    A metric that is NaN, infinite or not a number is read as null (so a new run's is
    missing, a regression) and named in ``notes``; anything else wrong is bad input.
    """
    if not root.is_dir():
        raise BenchError(f"no result directory at {root}")
    cells: dict[CellKey, dict[str, Any]] = {}
    for path in sorted(root.rglob("seed=*.json")):
        record = _load(path, notes if notes is not None else [])
        key = cell_key(record)
        if key in cells:
            raise BenchError(f"{root} holds two records of cell {format_cell(key)}")
        cells[key] = record
    if not cells:
        raise BenchError(f"no records below {root}")
    return cells


def _load(path: Path, notes: list[str]) -> dict[str, Any]:
    try:
        return load_record(path)
    except RecordError:
        try:  # the strict reader refused it: NaN or a bad metric is a result, not bad input
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError):
            record = None
        if not isinstance(record, dict) or not isinstance(record.get("metrics"), dict):
            raise
    record = dict(record)
    metrics = dict(record["metrics"])
    for name, value in metrics.items():
        if value is not None and metrics_problem({name: value}):
            notes.append(f"{path}: metric {name} is {value!r}, read as missing")
            metrics[name] = None
    record["metrics"] = metrics
    return record


def cell_key(record: dict[str, Any]) -> CellKey:
    return (
        record["task"],
        int(record["task_version"]),
        record["method"],
        parse_epsilon(str(record["epsilon"])),
        int(record["seed"]),
    )


def format_cell(key: CellKey) -> str:
    task, version, method, eps, seed = key
    return f"{task}@v{version} {method} eps={eps:g} seed={seed}"


def format_group(key: GroupKey) -> str:
    task, version, method, eps = key
    return f"{task}@v{version} {method} eps={eps:g}"


def compare(
    base: dict[CellKey, dict],
    new: dict[CellKey, dict],
    tolerances: dict[str, Tolerance],
    metrics: tuple[str, ...] | None = None,
    default: Tolerance | None = None,
) -> Comparison:
    """Compare every cell of ``base`` with ``new`` (cells only in ``new`` are listed as new).

    ``default`` (``--default-tolerance``) makes every metric without its own tolerance
    gate; without it only the task's primary metric and the named ones gate.
    """
    _check_names(base, tolerances, metrics)
    result = Comparison(notes=_version_notes(base, new))
    for key in sorted(set(base) | set(new)):
        if key not in new or key not in base:
            status = "missing" if key not in new else "new"
            result.deltas.append(Delta(key, "-", None, None, None, None, Tolerance(), status))
            continue
        result.notes += _setting_notes(key, base[key], new[key])
        # a metric is compared where the base reports it (methods may differ in metrics)
        for metric in [m for m in metrics or _metrics(base[key]) if m in base[key]["metrics"]]:
            tol, gating = tolerance_for(key[0], metric, tolerances, default, bool(metrics))
            delta = compare_metric(key, metric, base[key], new[key], tol)
            result.deltas.append(dataclasses.replace(delta, gating=gating))
    return result


def tolerance_for(
    task: str,
    metric: str,
    tolerances: dict[str, Tolerance],
    default: Tolerance | None,
    named: bool,
) -> tuple[Tolerance, bool]:
    """A metric's tolerance, and whether it gates: its own, ``--default-tolerance``, the
    task's default for its primary metric; others are shown without gating.

    >>> tolerance_for("mammo-cls", "auroc_internal", {}, None, False)
    (Tolerance(value=0.02, relative=False), True)
    >>> tolerance_for("mammo-cls", "auprc_internal", {}, None, False)[1]
    False
    """
    if metric in tolerances:
        return tolerances[metric], True
    if default is not None:
        return default, True
    primary = primary_metric(task)
    if metric == primary and task in TASK_TOLERANCES:
        return TASK_TOLERANCES[task], True
    return Tolerance(), named or metric == primary


def primary_metric(task: str) -> str | None:
    from bench.tasks import get_task

    try:
        return get_task(task).primary_metric
    except BenchError:
        return None


def verdicts(deltas: list[Delta]) -> list[Verdict]:
    """Per (method, epsilon, metric): the mean paired change over the seeds both sides
    report, against the tolerance (relative to the base mean for a relative one)."""
    groups: dict[tuple[GroupKey, str], list[Delta]] = defaultdict(list)
    for d in deltas:
        if d.base is not None and d.new is not None and d.status in ("ok", "better", "worse"):
            groups[(d.cell[:4], d.metric)].append(d)
    out = []
    for (group, metric), paired in sorted(groups.items()):
        out.append(_verdict(group, metric, paired))
    return out


def _verdict(group: GroupKey, metric: str, paired: list[Delta]) -> Verdict:
    from bench.metrics import higher_is_better

    sign = 1.0 if higher_is_better(metric) else -1.0
    gains = [sign * (d.new - d.base) for d in paired]
    n = len(gains)
    mean = sum(gains) / n
    se = math.sqrt(sum((g - mean) ** 2 for g in gains) / (n - 1) / n) if n > 1 else 0.0
    base_mean = sum(d.base for d in paired) / n
    tol = paired[0].tolerance
    allowed = tol.allowed(base_mean)
    # symmetric: a gain within the tolerance is noise as much as a loss within it is
    status = judge(0.0, mean, higher=True, tolerance=Tolerance(allowed))
    if status == "better" and mean <= allowed + _ROUNDING:
        status = "ok"
    return Verdict(
        group=group,
        metric=metric,
        seeds=n,
        base_mean=base_mean,
        new_mean=sum(d.new for d in paired) / n,
        gain=mean,
        gain_se=se,
        worse_seeds=sum(d.status == "worse" for d in paired),
        tolerance=tol,
        status=status,
        gating=any(d.gating for d in paired),
    )


def compare_metric(key: CellKey, metric: str, base: dict, new: dict, tol: Tolerance) -> Delta:
    """One metric of one cell; a metric the new record lacks counts as missing."""
    old_value, new_value = base["metrics"][metric], new["metrics"].get(metric)
    cis = (_ci(base, metric), _ci(new, metric))
    if new_value is None and old_value is not None:
        return Delta(key, metric, old_value, None, *cis, tol, "missing")
    if old_value is None:  # undefined in the base: nothing to regress from
        status = "ok" if new_value is None else "new"
        return Delta(key, metric, None, new_value, *cis, tol, status)
    higher = base.get("higher_is_better", {}).get(metric)
    if higher is None:
        from bench.metrics import higher_is_better

        higher = higher_is_better(metric)
    status = judge(old_value, new_value, higher=bool(higher), tolerance=tol)
    return Delta(key, metric, old_value, new_value, *cis, tol, status)


def _metrics(record: dict[str, Any]) -> list[str]:
    """The metrics of a record without their CI companions (shown beside them instead)."""
    return sorted(m for m in record["metrics"] if base_name(m) == m)


def _ci(record: dict[str, Any], metric: str) -> tuple[float, float] | None:
    low, high = (record["metrics"].get(f"{metric}_ci_{end}") for end in ("low", "high"))
    return (low, high) if low is not None and high is not None else None


def _check_names(base: dict, tolerances: dict, metrics: tuple[str, ...] | None) -> None:
    from bench.registry import unknown_name_message

    known = sorted({m for record in base.values() for m in record["metrics"]})
    for name in [*tolerances, *(metrics or ())]:
        if name not in known:
            raise BenchError(unknown_name_message("metric", name, known))


def _version_notes(base: dict, new: dict) -> list[str]:
    versions = [sorted({f"{k[0]} v{k[1]}" for k in side}) for side in (base, new)]
    if versions[0] == versions[1]:
        return []
    return [
        f"BASE holds {', '.join(versions[0])}; NEW holds {', '.join(versions[1])}: "
        "task versions are never compared with each other"
    ]


def _setting_notes(key: CellKey, base: dict, new: dict) -> list[str]:
    notes = []
    for field_name in ("profile", "config_hash"):
        if base.get(field_name) != new.get(field_name):
            notes.append(
                f"{format_cell(key)}: {field_name} differs "
                f"({base.get(field_name)} -> {new.get(field_name)})"
            )
    return notes
