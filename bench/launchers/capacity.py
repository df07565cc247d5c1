"""How many cells this machine holds at once, and how long a grid is expected to take.

The default ``--jobs`` is ``$PRIVMEDBENCH_JOBS`` when set (the test suite sets 1), else
the smallest of: the CPU cores this process may use (one torch thread per cell) less
those other processes keep busy (the 1-minute load average: on the shared 2-core VM under
load 13 a second worker only competed for the same cores); the memory available now
divided by the peak memory of one cell of the task and profile, a fifth kept free; and
the number of cells to run. On a GPU the default is one job: the cells of one device
would share its memory and its time.

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
        peak_gib: peak resident memory of a process running one cell on a cold cache.
        cell_s: seconds of one cell with its public parts cached (``None``: unmeasured).
        public_s: seconds of the public parts one seed trains on a cold cache.
    """

    peak_gib: float
    cell_s: float | None = None
    public_s: float = 0.0


#: The shared 2-core VM, December 2026, other jobs running (times are upper bounds).
#: Peak memory of smoke cells: one cell per task (recon-attack prior-free-dpsgd,
#: mammo-cls dp-vit-real+syn, cardiac-ldm dp-ldm; eps 10, seed 0) on a cold cache,
#: ``/usr/bin/time -v``; smoke times: the default smoke grid's wall time per cell
#: (recon-attack --jobs 1 at load 2: 33 s for 30 cells) or median cell (mammo-cls
#: --jobs 2, loaded), and cold minus warm for the public parts. small: the
#: grids of docs/performance.md (recon-attack 15 cells in 88 s, 1.3 GB; mammo-cls 3.1
#: GiB) and issue 13's cold cardiac-ldm grid (public parts 1549 s, later cells ~260 s).
#: cardiac-ldm small: the resident set of a dp-ldm-scratch DP cell sampled every 5 s
#: (2026-12-01) stayed below 2.6 GB except while scoring MS-SSIM, whose 300 pairs at once
#: took it to 14.7 GB (two such cells side by side were OOM-killed); MS-SSIM now scores a
#: chunk of pairs at a time (0.16 GB for 300 pairs), hence 2.8 GB.
MEASURED: dict[tuple[str, str], Figures] = {
    ("recon-attack", "smoke"): Figures(peak_gib=0.95, cell_s=1.0),
    ("mammo-cls", "smoke"): Figures(peak_gib=1.0, cell_s=8.5, public_s=60.0),
    ("cardiac-ldm", "smoke"): Figures(peak_gib=1.1, cell_s=11.0, public_s=10.0),
    ("recon-attack", "small"): Figures(peak_gib=1.3, cell_s=6.0),
    ("mammo-cls", "small"): Figures(peak_gib=3.1),
    ("cardiac-ldm", "small"): Figures(peak_gib=2.8, cell_s=260.0, public_s=1549.0),
}

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


def busy_cores() -> int:
    """Cores other processes keep busy now: the 1-minute load average, rounded down."""
    try:
        return int(os.getloadavg()[0])
    except (AttributeError, OSError):  # no load average on this system
        return 0


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
    idle = max(cores - busy_cores(), 1)
    known = figures(task, profile)
    peak = known.peak_gib if known else UNMEASURED_PEAK_GIB
    by_memory = cores if memory is None else int(memory * (1 - MEMORY_KEPT_FREE) // peak)
    jobs = max(1, min(idle, by_memory, cells))
    memory_text = "memory unknown" if memory is None else f"{memory:.1f} GiB available"
    source = "measured" if known else "not measured, assumed"
    why = (
        f"{cores} cores, {idle} of them idle, {memory_text}, ~{peak:.1f} GiB per {profile} "
        f"cell ({source})"
    )
    return jobs, why
