"""Locks: one ``bench run`` writes a task folder at a time; one process builds a cache entry.

Two runs on one ``--out`` (with different ``--set`` values, say) would overwrite each
other's records and summarise a mix of two configurations. The lock is an advisory
``flock`` on ``<task folder>/.lock``: the kernel releases it when its process ends, so a
killed run never leaves a stale lock behind. The file names the holder (pid, host,
start time, command) so that the refused run can say which run it waits for.

A cache entry of a public part (an autoencoder, a GAN) is built under its own flock
(:func:`build_lock`), so that parallel cells needing the same missing part train it once.
A worker of ``bench run --jobs`` may instead *defer* its cell while another cell builds
the part (:func:`deferring`): the launcher runs other cells first and this one later,
so that a core does not idle through a long pre-training that another cell is doing.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from bench.errors import BenchError

LOCK_NAME = ".lock"


class FolderBusyError(BenchError):
    """Another process holds the folder's lock."""


class BuildBusy(Exception):  # a signal to the launcher, not an error
    """Another cell builds the public part this cell needs next: run it later."""

    def __init__(self, path: Path) -> None:
        super().__init__(f"{path.name} is being built by another cell")
        self.path = str(path)


#: The deferral policy of this process's current cell (:func:`deferring`): the build
#: locks it may still be deferred for (None: wait for every busy lock, as by default).
_deferral: dict = {"skip": None}


@contextlib.contextmanager
def deferring(skip: set[str]) -> Iterator[None]:
    """Within the block (one cell in a ``--jobs`` worker), a busy build lock whose path is
    not in ``skip`` raises :class:`BuildBusy` instead of waiting, until
    :func:`stop_deferring` (the cell's first private work: nothing done after it is
    thrown away)."""
    _deferral["skip"] = set(skip)
    try:
        yield
    finally:
        _deferral["skip"] = None


def stop_deferring() -> None:
    """The cell started its private work: from now on it waits for busy build locks."""
    _deferral["skip"] = None


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


@contextlib.contextmanager
def build_lock(path: Path, on_wait: Callable[[], None] | None = None) -> Iterator[None]:
    """Hold the build lock of the cache entry ``path``, waiting while another holds it.

    Two cells (worker processes of one run, or two runs sharing a cache) that need the
    same missing public part must not both train it: the first takes the lock and
    trains, the others wait, then find the entry built (or, in a deferring cell, raise
    :class:`BuildBusy`). ``on_wait`` is called once when the lock is busy (to say so).
    The lock file ``.<name>.lock`` stays beside the entry
    (empty; a flock, so a killed builder releases it).
    """
    try:
        import fcntl
    except ImportError:  # no flock (Windows): at worst a part is trained twice
        yield
        return
    lock = path.with_name(f".{path.name}.lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            skip = _deferral["skip"]
            if skip is not None and str(path) not in skip:
                raise BuildBusy(path) from None
            if on_wait is not None:
                on_wait()
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        yield
