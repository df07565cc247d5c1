"""The Python API behind the CLI: run a grid, summarise a run directory."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from bench.cache import cache_dir, remove_stale_temp_files
from bench.errors import BenchError, RecordError
from bench.records import iter_records, task_dir
from bench.runner import CellStatus, RunRequest, expand_cells, is_finished, validate_request
from bench.tasks import get_task


@dataclass(frozen=True)
class RunResult:
    """Outcome of a grid: per-cell statuses and the summary table (Markdown)."""

    statuses: list[CellStatus]
    table: str
    summary_dir: Path

    @property
    def failed(self) -> list[CellStatus]:
        return [s for s in self.statuses if s.state == "failed"]


def run(request: RunRequest, launcher: str = "local", **launcher_params) -> RunResult:
    """Run every unfinished cell of ``request`` and write the summary of the grid."""
    from bench.launchers import get_launcher
    from bench.locks import folder_lock

    task = validate_request(request)
    summary_dir = task_dir(request.out, task.name, task.version)
    launch = get_launcher(launcher)
    with folder_lock(summary_dir):  # a second run on this --out refuses, naming this one
        remove_stale_temp_files(summary_dir)
        remove_stale_temp_files(cache_dir())  # a killed checkpoint or dataset write
        cells = expand_cells(request)
        todo = [cell for cell in cells if not is_finished(request, cell)]
        done = [CellStatus(c, "skipped", request.out) for c in cells if c not in todo]
        if done:
            print(skipped_line(len(done), len(cells)), file=sys.stderr, flush=True)
        statuses = done + (launch(request, todo, **launcher_params) if todo else [])
        table = summarise(summary_dir) if any(summary_dir.rglob("seed=*.json")) else ""
    return RunResult(statuses, table, summary_dir)


def skipped_line(skipped: int, cells: int) -> str:
    """What a run says about the cells it does not run again.

    Example:
        >>> skipped_line(9, 12)
        '9 of 12 cells finished earlier, skipped (--overwrite recomputes them)'
    """
    return f"{skipped} of {cells} cells finished earlier, skipped (--overwrite recomputes them)"


def summarise(run_dir: Path, write: bool = True) -> str:
    """The summary table of a task folder (``<out>/<task>@v<version>``).

    With ``write`` (what ``bench run`` does) ``summary.md``/``.csv``/``.png`` are written
    beside the records; ``bench show`` only reads.
    """
    from bench.summary import summary_table, write_summary

    task_name, version = _parse_task_dir(run_dir)
    task = get_task(task_name)
    if task.version != version:
        raise BenchError(
            f"{run_dir} holds {task_name} v{version}; this suite runs "
            f"v{task.version} and never mixes versions"
        )
    records = iter_records(run_dir)
    if not records:
        raise RecordError(f"no records in {run_dir}")
    return write_summary(task, records, run_dir) if write else summary_table(task, records)[1]


def task_dirs(run_dir: Path) -> list[Path]:
    """The task folders in ``run_dir`` (or ``run_dir`` itself if it is one)."""
    if not run_dir.is_dir():
        raise BenchError(f"no run directory at {run_dir}")
    if "@v" in run_dir.name:
        return [run_dir]
    found = sorted(p for p in run_dir.iterdir() if p.is_dir() and "@v" in p.name)
    if not found:
        raise BenchError(f"{run_dir} holds no results (expected <task>@v<version> folders)")
    return found


def _parse_task_dir(path: Path) -> tuple[str, int]:
    name, _, version = path.name.partition("@v")
    if not version.isdigit():
        raise BenchError(f"{path} is not a task folder (expected <task>@v<version>)")
    return name, int(version)
