"""Shared pieces of the leaderboard tests: one real smoke run per session, method cards.

Plain functions, not a conftest.py: a second ``conftest`` module under tests/bench would
clash with tests/conftest.py when doctest collection imports both by name.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

TASK = "recon-attack"
METHOD = "prior-free"
SEEDS = (0, 1, 2)


_RUNS: dict[Path, Path] = {}


def smoke_run_dir(tmp_path_factory) -> Path:
    """``bench run --task recon-attack --methods prior-free --seeds 0,1,2 --profile smoke``.

    The task's default epsilon grid and three seeds: what a board requires. Run once per
    session (cached on the session's base temp folder); tests that tamper with it work on
    a copy.
    """
    base = tmp_path_factory.getbasetemp()
    if base not in _RUNS:
        _RUNS[base] = _run(tmp_path_factory)
    return _RUNS[base]


def _run(tmp_path_factory) -> Path:
    from bench.api import run
    from bench.runner import RunRequest
    from bench.tasks import get_task

    task = get_task(TASK)
    out = tmp_path_factory.mktemp("smoke-run")
    with pytest.MonkeyPatch.context() as mp:  # the session cache of tests/conftest.py
        mp.setenv("PRIVMEDBENCH_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))
        result = run(
            RunRequest(
                task=TASK,
                epsilons=task.default_eps,
                methods=(METHOD,),
                seeds=SEEDS,
                profile="smoke",
                dataset=task.datasets[0],
                out=out,
            )
        )
    assert not result.failed, [s.error for s in result.failed]
    return out


def copy_run(run_dir: Path, tmp_path: Path) -> Path:
    """A private copy of a run, free to tamper with."""
    return Path(shutil.copytree(run_dir, tmp_path / "run"))


def card_data(**changes) -> dict:
    """A valid card of the smoke run's method, with ``changes`` applied (None deletes a key)."""
    card = {
        "name": METHOD,
        "task": TASK,
        "authors": ["Test Author"],
        "description": "the optimal prior-free attack",
        "code_url": "https://example.org/prior-free",
        "paper": "Riess et al., arXiv 2402.12861",
        "privacy_unit": "one image",
        "public_data": "none",
        "accountant": "prv",
        "hardware": "CPU",
        "deviations": "smoke profile",
    }
    card.update(changes)
    return {k: v for k, v in card.items() if v is not None}


def write_card(path: Path, **changes) -> Path:
    """A valid YAML card on disk."""
    path.write_text(yaml.safe_dump(card_data(**changes)), encoding="utf-8")
    return path


def edit_record(run_dir: Path, eps: str, seed: int, edit) -> Path:
    """Apply ``edit(record)`` to one record of a run directory in place."""
    path = run_dir / f"{TASK}@v2" / METHOD / f"eps={eps}" / f"seed={seed}.json"
    record = json.loads(path.read_text())
    edit(record)
    path.write_text(json.dumps(record))
    return path


def run_records(run_dir: Path) -> list[dict]:
    """The run's records (fresh dicts: tests may mutate them)."""
    from bench.records import iter_records

    return iter_records(run_dir / f"{TASK}@v2" / METHOD)
