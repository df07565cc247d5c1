"""``bench list``: tasks, methods, datasets, profiles and launchers, one line each."""

from __future__ import annotations

import argparse

from bench.config import PROFILE_HELP
from bench.datasets import DATASETS
from bench.launchers import LAUNCHER_HELP
from bench.privacy.budget import format_epsilon
from bench.tasks import get_task, methods_of, task_names


def add_parser(sub) -> argparse.ArgumentParser:
    return sub.add_parser(
        "list",
        help="list tasks, methods, datasets, profiles, launchers",
        description="List what the suite can run.",
    )


def main(args: argparse.Namespace) -> int:
    print("tasks:")
    for name in task_names():
        task = get_task(name)
        grid = ",".join(format_epsilon(e) for e in task.default_eps)
        print(
            f"  {name} (v{task.version}): {task.description} [eps {grid}; "
            f"data {', '.join(task.datasets)}]"
        )
        for method in methods_of(name):
            default = " (default)" if method.name in task.default_methods else ""
            print(f"    - {method.name}{default}: {method.description}")
    print("datasets:")
    for name in DATASETS:
        spec = DATASETS.get(name)
        print(
            f"  {name} ({spec.modality}{', built-in' if spec.builtin else ''}): {spec.description}"
        )
    _print_help_dict("profiles", PROFILE_HELP)
    _print_help_dict("launchers", LAUNCHER_HELP)
    return 0


def _print_help_dict(title: str, entries: dict[str, str]) -> None:
    print(f"{title}:")
    for name, text in entries.items():
        print(f"  {name}: {text}")
