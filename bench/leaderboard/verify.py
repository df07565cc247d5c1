"""``bench leaderboard verify``: re-run sampled cells of a submission and compare.

The static checks (:mod:`bench.leaderboard.checks`, :mod:`bench.leaderboard.evidence`)
prove that a submission is self-consistent; only re-running the installed method code
proves that the code produces it. ``verify`` draws ``cells`` records of a submission
(seeded, so two verifiers draw the same cells), rebuilds each cell from its record --
profile, method config, protocol settings, dataset, accountant, thread count -- runs it
through the same protocol as ``bench run`` (the task prepares, the method trains, the
task scores, the ledger states the privacy) and compares the new record with the
submitted one.

On the device type the record was made on, everything but timings, the code block and
the platform string must be identical (same seed, same device, same code give the same
record). On another device type (a CPU re-run of a GPU submission) the privacy block
must still be identical and each metric must lie within ``tolerance`` of the submitted
value; the verdict says which comparison was made. The verification is written next to
the submission (``<name>.verify.json``) and shown on the board.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import random
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.cache import write_json_atomic
from bench.errors import BenchError
from bench.leaderboard.checks import record_label
from bench.leaderboard.submission import VERIFY_SUFFIX
from bench.runner import device_type

# what legitimately differs between two runs of the same cell (the environment is
# descriptive; its device type is compared on its own)
VOLATILE = ("wall_time_s", "stage_seconds", "digest", "code", "environment")
CROSS_DEVICE_TOLERANCE = 0.02  # absolute, per metric, for a re-run on another device type
_MAX_DIFFERENCES = 5


@dataclass
class CellVerification:
    """One re-run cell: whether it reproduced, and the first differences if not."""

    label: str
    comparison: str  # "exact" (same device type) or "within tolerance"
    reproduced: bool
    differences: list[str] = field(default_factory=list)
    seconds: float = 0.0


@dataclass
class Verification:
    """The verdict over the re-run cells of one submission."""

    submission: Path
    cells: list[CellVerification]
    device: str

    @property
    def reproduced(self) -> bool:
        return bool(self.cells) and all(cell.reproduced for cell in self.cells)

    def summary_line(self) -> str:
        good = sum(cell.reproduced for cell in self.cells)
        verdict = "REPRODUCED" if self.reproduced else "NOT REPRODUCED"
        return (
            f"bench leaderboard verify: {verdict} ({good} of {len(self.cells)} re-run cells of "
            f"{self.submission.name} on {self.device})"
        )


def verification_path(submission: Path) -> Path:
    """Where the verification of ``submission`` is written: beside it."""
    return submission.with_suffix(VERIFY_SUFFIX)


def verify_submission(
    path: Path,
    *,
    cells: int = 1,
    seed: int = 0,
    device: str = "cpu",
    data_root: Path | None = None,
    tolerance: float = CROSS_DEVICE_TOLERANCE,
    progress=None,
) -> Verification:
    """Re-run ``cells`` sampled records of the submission at ``path``; write the verdict."""
    from bench.leaderboard.submission import load_submission
    from bench.tasks import get_task

    if cells < 1:
        raise BenchError(f"--cells must be at least 1, got {cells}")
    task = get_task(_task_name(path))
    submission = load_submission(path, task)  # every static check first
    records = sorted(submission.records, key=record_label)
    chosen = random.Random(seed).sample(records, min(cells, len(records)))
    results = []
    for record in chosen:
        start = time.perf_counter()
        fresh = rerun(record, device=device, data_root=data_root, progress=progress)
        same_type = _device_type(record) == device_type(device)
        differences = (
            differences_of(record, fresh)
            if same_type
            else _cross_device_differences(record, fresh, tolerance)
        )
        results.append(
            CellVerification(
                record_label(record),
                "exact" if same_type else f"metrics within {tolerance:g}, privacy exact",
                not differences,
                differences[:_MAX_DIFFERENCES],
                round(time.perf_counter() - start, 1),
            )
        )
    verification = Verification(path, results, device)
    write_verification(verification)
    return verification


def rerun(
    record: dict[str, Any], *, device: str = "cpu", data_root: Path | None = None, progress=None
) -> dict[str, Any]:
    """A fresh record of the cell ``record`` describes, made by the installed code."""
    from bench.config import config_from_dict
    from bench.runner import RunRequest, execute_cell, make_context
    from bench.tasks import get_method, get_task
    from bench.tasks.base import Cell
    from bench.threads import cpu_threads

    task = get_task(record["task"])
    if record["task_version"] != task.version:
        raise BenchError(
            f"{record_label(record)} is {task.name} v{record['task_version']}; the installed "
            f"suite runs v{task.version}"
        )
    method = get_method(task.name, record["method"])  # a plug-in must be installed
    profile = record["profile"]
    config = config_from_dict(
        method.configs[profile], record["config"], f"{record_label(record)} config"
    )
    settings = config_from_dict(
        task.settings[profile], record["protocol"], f"{record_label(record)} protocol"
    )
    dataset = record["dataset"]["name"]
    if data_root is None and not _builtin(dataset):
        raise BenchError(f"{record_label(record)} ran on {dataset}: give its --data-root")
    privacy = record["privacy"]
    if privacy.get("delta") != task.delta:
        raise BenchError(f"{record_label(record)} has delta {privacy.get('delta')}, not the task's")
    threads = (record.get("environment") or {}).get("threads") or 1
    with tempfile.TemporaryDirectory(prefix="bench-verify-") as out:
        request = RunRequest(
            task=task.name,
            epsilons=(_epsilon(record),),
            methods=(method.name,),
            seeds=(int(record["seed"]),),
            profile=profile,
            dataset=dataset,
            data_root=data_root,
            out=Path(out),
            device=device,
            accountant=privacy["accountant"],
            threads=threads,
        )
        cell = Cell(task.name, method.name, _epsilon(record), int(record["seed"]))
        ctx = make_context(request, cell, progress)
        ctx = dataclasses.replace(ctx, config=config, settings=settings)
        with cpu_threads(threads if device == "cpu" else 0):
            return execute_cell(request, ctx)


def differences_of(submitted: Any, fresh: Any, where: str = "") -> list[str]:
    """Where two records differ (dotted paths with both values), volatile keys aside."""
    if isinstance(submitted, dict) and isinstance(fresh, dict):
        found = []
        for key in sorted(set(submitted) | set(fresh)):
            if key in VOLATILE:
                continue
            path = f"{where}.{key}" if where else key
            if key not in fresh or key not in submitted:
                side = "the re-run" if key not in fresh else "the submission"
                found.append(f"{path} missing in {side}")
            else:
                found += differences_of(submitted[key], fresh[key], path)
        return found
    if isinstance(submitted, list) and isinstance(fresh, list) and len(submitted) == len(fresh):
        pairs = enumerate(zip(submitted, fresh, strict=True))
        return [d for i, (a, b) in pairs for d in differences_of(a, b, f"{where}[{i}]")]
    if submitted != fresh:
        return [f"{where}: submitted {_short(submitted)}, re-run {_short(fresh)}"]
    return []


def _cross_device_differences(record: dict, fresh: dict, tolerance: float) -> list[str]:
    found = differences_of(record["privacy"], fresh["privacy"], "privacy")
    for name, value in record["metrics"].items():
        again = fresh["metrics"].get(name)
        if value is None or again is None:
            if value != again:
                found.append(f"metrics.{name}: submitted {value}, re-run {again}")
        elif abs(value - again) > tolerance:
            found.append(f"metrics.{name}: submitted {value:.6g}, re-run {again:.6g}")
    return found


def write_verification(verification: Verification) -> Path:
    """Write the verdict beside the submission (strict JSON)."""
    from bench.records import code_version, environment

    path = verification_path(verification.submission)
    payload = {
        "submission": verification.submission.name,
        "submission_sha256": hashlib.sha256(verification.submission.read_bytes()).hexdigest(),
        "verified_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "reproduced": verification.reproduced,
        "device": verification.device,
        "code": code_version(),
        "environment": environment(verification.device),
        "cells": [dataclasses.asdict(cell) for cell in verification.cells],
    }
    write_json_atomic(path, payload)
    return path


def load_verification(submission: Path) -> dict[str, Any] | None:
    """The verification of ``submission`` if one was written for its current content."""
    path = verification_path(submission)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    sha = hashlib.sha256(submission.read_bytes()).hexdigest()
    return data if isinstance(data, dict) and data.get("submission_sha256") == sha else None


def _task_name(path: Path) -> str:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BenchError(f"no submission at {path}") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise BenchError(f"corrupt submission {path}: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("task"), str):
        raise BenchError(f"{path} is not a submission (no task)")
    return data["task"]


def _epsilon(record: dict) -> float:
    from bench.privacy.budget import parse_epsilon

    return parse_epsilon(str(record["epsilon"]))


def _builtin(dataset: str) -> bool:
    from bench.datasets import DATASETS

    return DATASETS.get(dataset).builtin


def _device_type(record: dict) -> str:
    return device_type(str((record.get("environment") or {}).get("device") or "cpu"))


def _short(value: Any) -> str:
    text = json.dumps(value) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
