"""A lock on a results folder: one ``bench run`` writes a task folder at a time.

Two runs on one ``--out`` (with different ``--set`` values, say) would overwrite each
other's records and summarise a mix of two configurations. The lock is an advisory
``flock`` on ``<task folder>/.lock``: the kernel releases it when its process ends, so a
killed run never leaves a stale lock behind. The file names the holder (pid, host,
start time, command) so that the refused run can say which run it waits for.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from bench.errors import BenchError

LOCK_NAME = ".lock"


class FolderBusyError(BenchError):
    """Another process holds the folder's lock."""


@contextlib.contextmanager
def folder_lock(folder: Path, flag: str = "--out") -> Iterator[None]:
    """Hold the lock of ``folder`` for the block, or raise :class:`FolderBusyError`."""
    try:
        import fcntl
    except ImportError:  # no flock (Windows): run unlocked rather than not at all
        yield
        return
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOCK_NAME
    with open(path, "a+", encoding="utf-8") as handle:  # closing it releases the flock
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise FolderBusyError(
                f"{flag} {folder} is in use by {_holder(path)}; wait for it to finish or "
                f"use another {flag}"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps(_me()) + "\n")
        handle.flush()
        yield


def _me() -> dict:
    return {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
        "command": " ".join(["bench", *sys.argv[1:]])[:300],
    }


def _holder(path: Path) -> str:
    try:
        info = json.loads(path.read_text(encoding="utf-8").splitlines()[0])
        return (
            f"another run (pid {info['pid']} on {info['host']}, since {info['started']}: "
            f"{info['command']})"
        )
    except (OSError, ValueError, IndexError, KeyError, TypeError):
        return "another run"
