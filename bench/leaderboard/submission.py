"""Submitting a method's records to a board, and reading a board's submissions back.

A submission file holds the method card and every record of one run of the method
(one profile, one task version), in a fixed order with sorted keys, so that it is a
stable input of the board. Submitting validates everything first and writes one file
atomically at the end: a rejected submission writes nothing. Reading a board's
submissions re-runs the same checks, so a hand-edited file is refused at render time.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.cache import write_json_atomic
from bench.errors import BenchError, RecordError
from bench.leaderboard import SUBMISSIONS, submission_path, task_root
from bench.leaderboard.card import MethodCard, card_dict, load_card, parse_card
from bench.leaderboard.checks import SubmissionError, check_submission
from bench.leaderboard.evidence import dataset_problems
from bench.leaderboard.rules import rules_for
from bench.privacy.budget import parse_epsilon
from bench.records import iter_records, parse_strict_json, task_dir
from bench.tasks import get_task
from bench.tasks.base import TaskSpec

FORMAT = 1  # of the submission file; bump when its layout changes
VERIFY_SUFFIX = ".verify.json"  # bench leaderboard verify's report beside a submission
AUDIT_SUFFIX = ".audit.json"  # bench audit --json's results beside a submission


@dataclass(frozen=True)
class Submission:
    """A validated submission: one method's run on one task version at one profile."""

    path: Path
    task: TaskSpec
    card: MethodCard
    profile: str
    records: list[dict[str, Any]]


def submit(
    run_dir: Path, card_path: Path, root: Path, *, replace: bool = False, allow_smoke: bool = False
) -> Path:
    """Validate the card and the card's method's records in ``run_dir``; write the submission.

    Args:
        run_dir: a ``bench run --out`` folder or one ``<task>@v<version>`` folder in it.
        card_path: the method card (YAML or JSON).
        root: the leaderboards folder (``leaderboards/``).
        replace: overwrite an earlier submission of the same method and profile.
        allow_smoke: accept a ``smoke`` run (pipeline checks only; never ranked beside
            real runs).

    Returns:
        The path of the written submission.
    """
    card = load_card(card_path)
    task = get_task(card.task)
    records = collect_records(run_dir, task, card.name)
    check_submission(
        task,
        card,
        records,
        rules_for(task),
        source=f"submission of {card.name}",
        allow_smoke=allow_smoke,
    )
    profile = records[0]["profile"]
    path = submission_path(root, task.name, card.name, profile)
    if path.exists() and not replace:
        raise BenchError(f"{path} exists ({card.name} at profile {profile}); use --replace")
    try:
        write_json_atomic(path, submission_payload(task, card, profile, records))
    except OSError as exc:
        raise BenchError(f"cannot write {path}: {exc}") from None
    return path


def collect_records(run_dir: Path, task: TaskSpec, method: str) -> list[dict[str, Any]]:
    """The records of ``method`` for the current version of ``task`` in ``run_dir``."""
    if not run_dir.is_dir():
        raise BenchError(f"no run directory at {run_dir}")
    folder = run_dir if run_dir.name.startswith(f"{task.name}@v") else None
    found = [folder] if folder else sorted(run_dir.glob(f"{task.name}@v*"))
    if not found:
        raise BenchError(f"{run_dir} holds no {task.name} results (no {task.name}@v<version>/)")
    wanted = task_dir(run_dir.parent if folder else run_dir, task.name, task.version)
    if wanted not in found:
        names = ", ".join(p.name for p in found)
        raise BenchError(
            f"{run_dir} holds {names}, not {wanted.name}: the board takes only the current "
            "task version"
        )
    if not (wanted / method).is_dir():
        methods = ", ".join(sorted(p.name for p in wanted.iterdir() if p.is_dir())) or "none"
        raise BenchError(f"no records of method {method!r} in {wanted} (found: {methods})")
    return iter_records(wanted / method)


def submission_payload(
    task: TaskSpec, card: MethodCard, profile: str, records: list[dict[str, Any]]
) -> dict[str, Any]:
    """The submission file's content: card + records in grid order."""
    ordered = sorted(records, key=lambda r: (parse_epsilon(r["epsilon"]), r["seed"]))
    return {
        "format": FORMAT,
        "task": task.name,
        "task_version": task.version,
        "method": card.name,
        "profile": profile,
        "card": card_dict(card),
        "records": ordered,
    }


def submission_paths(root: Path, task_name: str) -> list[Path]:
    """The submission files of a board, sorted by name (not yet read or checked)."""
    folder = task_root(root, task_name) / SUBMISSIONS
    paths = sorted(folder.glob("*.json")) if folder.is_dir() else []
    # a re-run's report and an audit's results lie beside their submission
    return [path for path in paths if not path.name.endswith((VERIFY_SUFFIX, AUDIT_SUFFIX))]


def load_submissions(root: Path, task_name: str) -> list[Submission]:
    """Every submission of a board, each re-validated; sorted by file name."""
    task = get_task(task_name)
    submissions = [load_submission(path, task) for path in submission_paths(root, task.name)]
    # one board, one protocol: every record that names the same data holds the same data
    problems = dataset_problems([r for sub in submissions for r in sub.records])
    if problems:
        raise SubmissionError(f"board {task.name}", problems)
    return submissions


def load_submission(path: Path, task: TaskSpec) -> Submission:
    """Read one submission file and re-run every check on it."""
    try:
        data = parse_strict_json(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise RecordError(f"corrupt submission {path}: {exc}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise RecordError(f"{path} is not a submission of format {FORMAT}")
    card = parse_card(data.get("card"), str(path))
    records = data.get("records")
    if (
        card.task != task.name
        or not isinstance(records, list)
        or not records
        or not all(isinstance(r, dict) for r in records)
    ):
        raise RecordError(f"{path}: not a submission to {task.name} with records")
    check_submission(task, card, records, rules_for(task), source=str(path), allow_smoke=True)
    profile = records[0]["profile"]
    expected = submission_path(path.parent.parent.parent, task.name, card.name, profile)
    if path.name != expected.name or data.get("profile") != profile:
        raise RecordError(
            f"{path}: holds {card.name} at profile {profile}; expected {expected.name}"
        )
    return Submission(path, task, card, profile, records)
