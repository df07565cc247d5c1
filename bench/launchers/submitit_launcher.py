"""The submitit launcher: one Slurm job-array task per cell (no home-made scheduler).

On a machine without Slurm, ``cluster="local"`` runs the same array with submitit's
local executor (subprocesses), which is how the tests exercise this path.
"""

from __future__ import annotations

import sys

from tqdm.auto import tqdm

from bench.launchers import LAUNCHERS
from bench.runner import CellStatus, RunRequest, run_cell
from bench.tasks.base import Cell

#: Slurm parameters; users adapt them with environment-specific wrappers if needed.
DEFAULT_SLURM = {"timeout_min": 240, "slurm_array_parallelism": 64, "cpus_per_task": 4}


@LAUNCHERS.register("submitit")
def launch_submitit(
    request: RunRequest, cells: list[Cell], cluster: str | None = None, **params
) -> list[CellStatus]:
    """Submit ``cells`` as a job array and wait for them; logs go to ``<out>/.submitit``."""
    import submitit

    executor = submitit.AutoExecutor(folder=request.out / ".submitit" / "%j", cluster=cluster)
    settings = dict(DEFAULT_SLURM, **params)
    if executor.cluster != "slurm":
        settings = {"timeout_min": settings["timeout_min"]}
    if request.device.startswith("cuda"):
        settings.setdefault("gpus_per_node", 1)
    executor.update_parameters(**settings)
    jobs = executor.map_array(run_cell, [request] * len(cells), cells)
    statuses = []
    for job, cell in tqdm(
        list(zip(jobs, cells, strict=True)), desc=request.task, unit="cell", file=sys.stderr
    ):
        try:
            statuses.append(job.result())
        except Exception as exc:  # a job killed by the scheduler still reports its cell
            statuses.append(CellStatus(cell, "failed", request.out, f"job {job.job_id}: {exc}"))
    return statuses
