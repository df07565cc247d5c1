"""``bench show RUN_DIR``: the summary table of an existing run directory."""

from __future__ import annotations

import argparse
from pathlib import Path

from bench.api import summarise, task_dirs


def add_parser(sub) -> argparse.ArgumentParser:
    parser = sub.add_parser(
        "show",
        help="print the summary table of a run directory",
        description="Re-summarise the records of a run directory (the "
        "--out of bench run, or one <task>@v<version> folder in it).",
    )
    parser.add_argument("run_dir", type=Path, metavar="RUN_DIR")
    return parser


def main(args: argparse.Namespace) -> int:
    for folder in task_dirs(args.run_dir):
        print(f"## {folder.name}\n")
        print(summarise(folder))
        print(f"\n(saved {folder / 'summary.md'}, summary.csv, summary.png)\n")
    return 0
