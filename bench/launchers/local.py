"""The local launcher: cells run sequentially in this process, with progress bars."""

from __future__ import annotations

import functools
import sys

from tqdm.auto import tqdm

from bench.launchers import LAUNCHERS
from bench.runner import CellStatus, RunRequest, run_cell
from bench.tasks.base import Cell


def inner_progress(iterable, **kwargs):
    """A nested progress bar for the long loops inside a cell (trials, epochs)."""
    return tqdm(iterable, leave=False, position=1, file=sys.stderr, dynamic_ncols=True, **kwargs)


@LAUNCHERS.register("local")
def launch_local(request: RunRequest, cells: list[Cell]) -> list[CellStatus]:
    """Run ``cells`` one after another; a failed cell is reported and the grid goes on."""
    statuses = []
    bar = tqdm(
        cells, desc=request.task, unit="cell", position=0, file=sys.stderr, dynamic_ncols=True
    )
    for cell in bar:
        bar.set_postfix_str(cell.label)
        status = run_cell(
            request, cell, progress=functools.partial(inner_progress, desc=cell.label)
        )
        if status.state == "failed":
            tqdm.write(f"cell {cell.label} failed: {status.error}", file=sys.stderr)
        statuses.append(status)
    return statuses
