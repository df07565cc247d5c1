"""Build locks: a deferring cell (a --jobs worker) is told a part is busy instead of waiting."""

from __future__ import annotations

import threading
import time

import pytest

from bench.locks import BuildBusy, build_lock, deferring, stop_deferring


def _held(path, seconds: float) -> threading.Event:
    """Another holder of the part's build lock for ``seconds`` (flock is per open file)."""
    taken = threading.Event()

    def hold():
        with build_lock(path):
            taken.set()
            time.sleep(seconds)

    threading.Thread(target=hold, daemon=True).start()
    taken.wait(5)
    return taken


def test_a_deferring_cell_is_told_once_per_part_and_never_after_its_private_work(tmp_path):
    path = tmp_path / "part.pt"
    _held(path, 0.5)
    with deferring(set()), pytest.raises(BuildBusy) as busy, build_lock(path):
        pass
    assert busy.value.path == str(path)
    with deferring({str(path)}):  # deferred for it before: this time it waits
        start = time.monotonic()
        with build_lock(path):
            assert time.monotonic() - start > 0.1
    _held(path, 0.3)
    with deferring(set()):
        stop_deferring()  # the cell's private work began: waiting, not deferring
        with build_lock(path):
            pass


def test_outside_a_deferring_block_a_busy_lock_is_waited_for(tmp_path):
    path = tmp_path / "part.pt"
    _held(path, 0.3)
    waited = []
    with build_lock(path, on_wait=lambda: waited.append(True)):
        pass
    assert waited == [True]
