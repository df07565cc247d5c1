"""``bench show RUN_DIR``: the summary table of an existing run directory."""

from __future__ import annotations

import argparse

from bench.api import summarise, task_dirs
from bench.cli.args import path_arg


def add_parser(sub) -> argparse.ArgumentParser:
    parser = sub.add_parser(
        "show",
        help="print the summary table of a run directory",
        description="Summarise the records of a run directory (the --out of bench "
        "run, or one <task>@v<version> folder in it). Read-only: the summary files "
        "bench run wrote are left as they are.",
    )
    parser.add_argument("run_dir", type=path_arg, metavar="RUN_DIR")
    return parser


def main(args: argparse.Namespace) -> int:
    for folder in task_dirs(args.run_dir):
        print(f"## {folder.name}\n")
        print(summarise(folder, write=False))
        print()
    return 0
