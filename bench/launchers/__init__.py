"""Launchers run a list of independent cells: in this process, or as a Slurm job array.

A launcher is a function ``(request, cells) -> list[CellStatus]``; each cell writes its
own record, so launchers need no shared state and never merge results themselves.
"""

from __future__ import annotations

from collections.abc import Callable

from bench.registry import Registry

LAUNCHERS: Registry[Callable] = Registry("launcher")
LAUNCHER_HELP = {
    "local": "run cells on this machine, --jobs N at a time in worker processes (default)",
    "submitit": "one Slurm job-array task per cell through submitit (cluster=local in tests)",
}


def get_launcher(name: str) -> Callable:
    """The launcher called ``name``; its module is imported on first use."""
    from bench.launchers import local, submitit_launcher  # noqa: F401  (registers)

    return LAUNCHERS.get(name)
