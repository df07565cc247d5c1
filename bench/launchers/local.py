"""The local launcher: cells in this process (``--jobs 1``) or in worker processes.

With ``jobs > 1`` each cell runs in a worker process started with ``spawn`` (forking a
process that has imported torch is unsafe), one cell at a time per worker, with the same
thread count as in this process (``RunRequest.threads``): the records equal those of
``--jobs 1``, whose thread count the cache keys and the finished-cell match include. A
cell that fails is reported and the others go on; a worker that dies (killed, out of
memory) stops its pool: the cells that were running run once more in a new pool with
the remaining ones (a cell whose worker dies twice fails). Each record is
written atomically by its cell, so an interrupt or a kill loses no finished cell; the
workers end with this process (they watch it), so the ``--out`` lock that this process
holds covers them. Public parts are built under a file lock per cache entry
(:func:`bench.checkpoints.entry_lock`): two workers never train the same part. A worker
whose cell needs a part another cell is building, before the cell's private work
begins, defers it (:func:`bench.locks.deferring`) and takes the next cell: the deferred
one runs again after the cells queued so far, waiting for that part at most once more
(a cell is deferred at most once per part), so that a core does not idle through a
pre-training that another cell is doing.

The workers report their phases through a queue to the one display drawn here
(:mod:`bench.launchers.display`).
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import pickle
import signal
import sys
import threading
import time
import warnings
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from bench import progress
from bench.launchers import LAUNCHERS
from bench.launchers.capacity import default_jobs, figures
from bench.launchers.display import RunDisplay, format_seconds
from bench.launchers.eta import Eta
from bench.runner import CellStatus, RunRequest, run_cell
from bench.tasks.base import Cell, MethodSpec, TaskSpec


def inner_progress(iterable, **kwargs):
    """A progress bar for a loop run outside a grid (``bench leaderboard verify``)."""
    from tqdm.auto import tqdm

    return tqdm(iterable, leave=False, file=sys.stderr, dynamic_ncols=True, **kwargs)


@LAUNCHERS.register("local")
def launch_local(
    request: RunRequest, cells: list[Cell], jobs: int | None = None, stream=None
) -> list[CellStatus]:
    """Run ``cells``, ``jobs`` at a time (default: what the machine holds); a failed
    cell is reported and the grid goes on. The start banner and the progress go to
    ``stream`` (stderr)."""
    stream = stream or sys.stderr
    reason = "as asked"
    if jobs is None:
        jobs, reason = default_jobs(request.task, request.profile, request.device, len(cells))
    jobs = max(1, min(jobs, len(cells)))
    known = figures(request.task, request.profile)
    eta = Eta(cells, jobs, known.cell_s if known else None, known.public_s if known else 0.0)
    print(banner(request, cells, jobs, reason, eta), file=stream, flush=True)
    display = RunDisplay(request.task, cells, eta, stream)
    try:
        if jobs == 1:
            return [_in_process(request, cell, display) for cell in cells]
        return _in_workers(request, cells, jobs, display)
    finally:
        display.close()


def banner(request: RunRequest, cells: list[Cell], jobs: int, reason: str, eta: Eta) -> str:
    """What the run will do: task, profile, device, cells, jobs and the expected time."""
    expected = eta.remaining(now=0.0)
    when = (
        f"expected about {format_seconds(expected)} with a cold cache (measured figures)"
        if expected is not None
        else "expected time: known after the first cell"
    )
    return (
        f"bench run: {request.task}, profile {request.profile}, device {request.device}, "
        f"{len(cells)} cells to run, {jobs} job{'s' * (jobs > 1)} ({reason}); {when}"
    )


def _in_process(request: RunRequest, cell: Cell, display: RunDisplay) -> CellStatus:
    status = _run(request, cell, display.handle)
    display.finished(cell, status.error)
    return status


def _run(request: RunRequest, cell: Cell, sink) -> CellStatus:
    """One cell, its events sent to ``sink``."""
    with progress.reporting(sink, cell.label):
        progress.emit("start")
        return run_cell(request, cell, progress=progress.track)


def _in_workers(request, cells, jobs, display) -> list[CellStatus]:
    context = multiprocessing.get_context("spawn")
    events = context.Queue()
    reader = threading.Thread(target=_forward, args=(events, display), daemon=True)
    reader.start()
    statuses: dict[Cell, CellStatus] = {}
    try:
        with _terminate_on_sigterm():
            pending = list(cells)
            while pending:  # one round per pool; a dead worker ends its pool's round
                pending = _round(request, pending, jobs, context, events, display, statuses)
                if pending and jobs > 1:
                    # A worker dies mostly of memory (the kernel's OOM killer), and a
                    # broken pool also stops the cells beside it: fewer at once leaves
                    # each more memory, and at one job a death names its own cell.
                    jobs = max(1, jobs // 2)
                    display.note(f"a worker process died: running the rest with {jobs} "
                                 f"job{'s' if jobs > 1 else ''} at once")  # fmt: skip
    finally:
        events.put(None)
        reader.join(timeout=5)
    return [statuses[cell] for cell in cells if cell in statuses]


def _round(request, cells, jobs, context, events, display, statuses) -> list[Cell]:
    """Run ``cells`` in one pool; return those to run again (not started when a worker
    died)."""
    init = (
        events, os.getpid(), logging.getLogger().level, list(warnings.filters),
        _registrations(request.task),
    )  # fmt: skip
    pool = ProcessPoolExecutor(jobs, context, initializer=_init_worker, initargs=init)
    futures = {pool.submit(_work, request, cell, frozenset()): cell for cell in cells}
    deferred: dict[Cell, frozenset] = {}  # the parts each cell was deferred for
    try:
        not_done = set(futures)
        while not_done:
            finished, not_done = wait(not_done, return_when=FIRST_COMPLETED)
            for future in finished:
                cell = futures[future]
                state = _collect(future, cell, display, statuses)
                if state == "broken":
                    return _after_broken_pool(futures, display, statuses)
                if state == "deferred":  # after the cells queued so far
                    deferred[cell] = deferred.get(cell, frozenset()) | {future.result().error}
                    again = pool.submit(_work, request, cell, deferred[cell])
                    futures[again] = cell
                    not_done.add(again)
    except BaseException:  # Ctrl-C, SIGTERM: stop every worker before the --out lock goes
        _stop(pool)
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return []


def _collect(future, cell: Cell, display: RunDisplay, statuses: dict) -> str:
    try:
        status = future.result()
    except BrokenProcessPool:
        return "broken"
    except Exception as exc:  # an error outside run_cell's own handling (unpicklable...)
        status = CellStatus(cell, "failed", Path(), f"{type(exc).__name__}: {exc}")
    if status.state == "deferred":
        display.deferred(cell, Path(status.error).stem)
        return status.state
    statuses[cell] = status
    display.finished(cell, status.error)
    return status.state


def _after_broken_pool(futures, display: RunDisplay, statuses: dict) -> list[Cell]:
    """A worker died and the pool stopped every worker: the cells that had not started
    run again in a new pool, and so do the interrupted ones, once (which of them killed
    its worker is not known); a cell interrupted twice fails."""
    time.sleep(0.5)  # let the reader thread deliver the last "start" events
    cells = list(dict.fromkeys(futures.values()))  # a deferred cell was submitted twice
    started = any(cell in statuses or cell in display.eta.timings for cell in cells)
    again = []
    for cell in cells:
        if cell in statuses:
            continue
        if cell in display.eta.timings:  # it was running
            display.interrupted(cell)
            if display.interruptions[cell] > 1:
                error = "its worker process died twice (killed, or out of memory?)"
                statuses[cell] = CellStatus(cell, "failed", Path(), error)
                display.finished(cell, error)
                continue
        again.append(cell)
    if not started:  # no worker got as far as a cell: do not loop on it
        for cell in again:
            statuses[cell] = CellStatus(cell, "failed", Path(), "worker processes did not start")
            display.finished(cell, statuses[cell].error)
        return []
    return again


def _forward(events, display: RunDisplay) -> None:
    for event in iter(events.get, None):
        display.handle(event)


_events = None  # the queue of a worker process (set by its initializer)


def _registrations(task: str) -> tuple:
    """The specs of ``task`` and its methods that can be sent to a worker, for workers
    that lack some (registered at run time by the caller, not by a module or a plug-in).

    The built-in ones hold lazy references that do not pickle; the workers register those
    themselves. A run-time spec that does not pickle either (a lambda) stays unknown
    there, and its cells fail naming it.
    """
    from bench.tasks import get_task, methods_of

    return tuple(s for s in (get_task(task), *methods_of(task)) if _picklable(s))


def _picklable(spec) -> bool:
    try:
        pickle.dumps(spec)
    except Exception:  # pickle raises several kinds (PicklingError, AttributeError, ...)
        return False
    return True


def _init_worker(events, parent: int, log_level: int, warning_filters: list, specs) -> None:
    """A worker logs, filters warnings and knows the tasks as the launcher does, and ends
    with it."""
    from bench.tasks import TASKS, load, register_method, register_task

    global _events
    _events = events
    logging.basicConfig(level=log_level, format="%(levelname)s %(name)s: %(message)s")
    warnings.filters[:] = warning_filters
    load()
    for spec in specs:
        if isinstance(spec, TaskSpec) and spec.name not in TASKS:
            register_task(spec)
        elif isinstance(spec, MethodSpec) and spec.name not in _method_names(spec.task):
            register_method(spec)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops its workers itself
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()


def _method_names(task: str) -> set[str]:
    from bench.tasks import methods_of

    return {m.name for m in methods_of(task)}


def _watch_parent(parent: int) -> None:
    """End this worker when the launcher is gone (killed with -9, say): its lock on
    ``--out`` went with it, and a cell finished now could mix with another run's."""
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(1)


def _work(request: RunRequest, cell: Cell, deferred_for: frozenset) -> CellStatus:
    """One cell in a worker: deferred (not waiting) for a part another cell builds, unless
    it was deferred for that part before."""
    from bench.locks import deferring

    with deferring(set(deferred_for)):
        return _run(request, cell, _events.put)


def _stop(pool: ProcessPoolExecutor) -> None:
    """Terminate the pool's workers (their running cells write nothing: records are
    written whole or not at all)."""
    for process in list(getattr(pool, "_processes", {}).values()):
        with contextlib.suppress(OSError):
            process.terminate()


@contextlib.contextmanager
def _terminate_on_sigterm():
    """Within the block, SIGTERM interrupts like Ctrl-C (so the workers are stopped)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    before = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, before)
