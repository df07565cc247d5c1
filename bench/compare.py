"""Regression tracking: compare two result sets cell by cell, metric by metric.

Cells are matched on (task, task version, method, epsilon, seed); versions are never
compared with each other. A metric got worse when it moved against its direction (the
record's ``higher_is_better``) by more than its tolerance; a cell of the base that the
new set lacks is a failure too, since a regression must not hide behind a crash.

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

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.errors import BenchError
from bench.metrics import base_name
from bench.privacy.budget import parse_epsilon
from bench.records import iter_records

CellKey = tuple[str, int, str, float, int]  # task, version, method, epsilon, seed
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


@dataclass
class Comparison:
    """Every delta of a comparison, and notes that do not fail it."""

    deltas: list[Delta] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def failed(self) -> list[Delta]:
        return [d for d in self.deltas if d.status in FAILING]

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


def load_cells(root: Path) -> dict[CellKey, dict[str, Any]]:
    """The records below ``root`` keyed by cell; duplicated cells are an error."""
    if not root.is_dir():
        raise BenchError(f"no result directory at {root}")
    cells: dict[CellKey, dict[str, Any]] = {}
    for record in iter_records(root):
        key = cell_key(record)
        if key in cells:
            raise BenchError(f"{root} holds two records of cell {format_cell(key)}")
        cells[key] = record
    if not cells:
        raise BenchError(f"no records below {root}")
    return cells


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


def compare(
    base: dict[CellKey, dict],
    new: dict[CellKey, dict],
    tolerances: dict[str, Tolerance],
    metrics: tuple[str, ...] | None = None,
    default: Tolerance | None = None,
) -> Comparison:
    """Compare every cell of ``base`` with ``new`` (cells only in ``new`` are listed as new)."""
    default = default or Tolerance()
    _check_names(base, tolerances, metrics)
    result = Comparison(notes=_version_notes(base, new))
    for key in sorted(set(base) | set(new)):
        if key not in new or key not in base:
            status = "missing" if key not in new else "new"
            result.deltas.append(Delta(key, "-", None, None, None, None, default, status))
            continue
        result.notes += _setting_notes(key, base[key], new[key])
        # a metric is compared where the base reports it (methods may differ in metrics)
        for metric in [m for m in metrics or _metrics(base[key]) if m in base[key]["metrics"]]:
            tol = tolerances.get(metric, default)
            result.deltas.append(compare_metric(key, metric, base[key], new[key], tol))
    return result


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
