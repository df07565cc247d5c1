"""The built-in data a task version pins: content hashes of its phantoms per profile and seed.

A record's dataset block names its data (name, variant, seed, sizes) and hashes its
content. For the built-in phantoms the task can regenerate that content, so the task
version pins the hash: a record (or a whole board edited alike) that claims the built-in
data with another content is refused by the leaderboard, which checks against the pins
without regenerating anything. The pins live beside each task's protocol in
``builtin_data.json`` and are made by this module from the current code
(``python -m bench.tasks.pinned_data TASK...``); a test regenerates them.

A pin's key is the dataset block without its content hash, so every threat model of
``recon-attack`` (its own sample count and image size) and every seed has its own pin.

Example:
    >>> pin_key({"name": "phantom-cardiac", "seed": 7, "content_hash": "ab12"})
    '{"name":"phantom-cardiac","seed":7}'
"""

from __future__ import annotations

import argparse
import importlib.resources
import json
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from bench.tasks.base import Cell, TaskSpec

PIN_FILE = "builtin_data.json"
PINNED_PROFILES = ("smoke", "small")  # the paper profile's phantoms take minutes to make
PINNED_SEEDS = tuple(range(5))  # the seeds a board accepts on built-in data


def pin_key(dataset: dict[str, Any]) -> str:
    """The identity of a dataset block: everything but its content hash, canonical JSON."""
    identity = {k: v for k, v in dataset.items() if k != "content_hash"}
    return json.dumps(identity, sort_keys=True, separators=(",", ":"))


def pinned(task: TaskSpec) -> dict[str, dict[str, Any]]:
    """``{profile: {pin key: content hash}}`` of the task version (empty without a file)."""
    path = pin_file(task)
    if not path.is_file():
        return {}
    pins = json.loads(path.read_text())
    if pins.get("task_version") != task.version:
        return {}  # pins of another version pin nothing: regenerate them
    return pins["profiles"]


def pin_file(task: TaskSpec) -> Path:
    """Where the task's pins live: ``builtin_data.json`` in the task's subpackage."""
    return Path(str(importlib.resources.files(task.package))) / PIN_FILE


def pin_problems(task: TaskSpec, record: dict[str, Any]) -> list[str]:
    """The record's built-in data is the data its task version pins for its profile and seed."""
    from bench.datasets import DATASETS

    dataset = record.get("dataset")
    if not isinstance(dataset, dict) or dataset.get("name") not in DATASETS:
        return []
    if not DATASETS.get(dataset["name"]).builtin:
        return []
    pins = pinned(task).get(record.get("profile"))
    if pins is None:
        return []
    key = pin_key(dataset)
    if key not in pins:
        return [
            f"built-in data {dataset['name']} seed {dataset.get('seed')} is not data that "
            f"{task.name} v{task.version} makes at profile {record.get('profile')!r} "
            f"(sizes, seed or variant differ from every pinned one; seeds "
            f"{PINNED_SEEDS[0]}-{PINNED_SEEDS[-1]} are pinned)"
        ]
    if pins[key] != dataset.get("content_hash"):
        return [
            f"dataset content_hash {dataset.get('content_hash')} is not the content the task "
            f"pins for its built-in data at seed {record.get('seed')} ({pins[key]})"
        ]
    return []


def builtin_blocks(
    task: TaskSpec, profile: str, methods: Iterable[str], seeds: Iterable[int]
) -> dict[str, Any]:
    """Pin keys and content hashes of the built-in data the task prepares for the cells
    (``method``, ``seed``) of a profile: the task's own ``prepare``, no method run."""
    from bench.privacy.ledger import PrivacyLedger
    from bench.runner import RunRequest, make_context

    protocol = task.load_protocol()
    blocks: dict[str, Any] = {}
    for method in methods:
        for seed in seeds:
            request = RunRequest(
                task=task.name,
                epsilons=(math.inf,),
                methods=(method,),
                seeds=(seed,),
                profile=profile,
                dataset=task.datasets[0],
                out=_nowhere(),
            )
            ctx = make_context(request, Cell(task.name, method, math.inf, seed))
            prepared = protocol.prepare(ctx, PrivacyLedger(ctx.budget, task.privacy_unit))
            blocks[pin_key(prepared.dataset)] = prepared.dataset["content_hash"]
    return dict(sorted(blocks.items()))


def write_pins(task: TaskSpec, profiles: Iterable[str] = PINNED_PROFILES) -> str:
    """The task's ``builtin_data.json`` text for ``profiles``: its default methods at the
    pinned seeds."""
    content = {
        "task": task.name,
        "task_version": task.version,
        "made_by": "python -m bench.tasks.pinned_data (do not edit by hand)",
        "profiles": {
            profile: builtin_blocks(task, profile, task.default_methods, PINNED_SEEDS)
            for profile in profiles
        },
    }
    return json.dumps(content, indent=1, sort_keys=True) + "\n"


def _nowhere() -> Path:
    """An output folder that prepare never writes to (pins write no record)."""
    return Path("/nonexistent/pinned-data")


def main(argv: list[str] | None = None) -> None:
    """Regenerate the pins of the named tasks (all by default) from the current code."""
    from bench.tasks import TASKS, get_task

    parser = argparse.ArgumentParser(prog="python -m bench.tasks.pinned_data")
    parser.add_argument("tasks", nargs="*", help="task names (default: every task)")
    names = parser.parse_args(argv).tasks or list(TASKS)
    for name in names:
        task = get_task(name)
        path = pin_file(task)
        path.write_text(write_pins(task))
        print(f"{path}: pinned")


if __name__ == "__main__":
    main()
