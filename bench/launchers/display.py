"""The one progress display of a local run: cells done / running / ETA, one bar per worker.

Only the launcher's process draws: cells report their phases as events
(:mod:`bench.progress`), straight to :meth:`RunDisplay.handle` when they run in this
process, through a queue when they run in worker processes. On a terminal each running
cell has one bar that shows its current phase by name ("pre-training (public)", "private
training", ...); elsewhere (a log file, a pipe) no bars are drawn and the display writes
one line per note and per finished cell, with the ETA.
"""

from __future__ import annotations

import sys
import threading
import time

from tqdm.auto import tqdm

from bench.launchers.eta import Eta
from bench.tasks.base import Cell


def format_seconds(seconds: float | None) -> str:
    """``"?"``, ``"42 s"``, ``"3 min"`` or ``"1 h 05 min"``.

    Example:
        >>> format_seconds(42.4), format_seconds(185), format_seconds(3900)
        ('42 s', '3 min', '1 h 05 min')
    """
    if seconds is None:
        return "?"
    if seconds < 90:
        return f"{seconds:.0f} s"
    minutes = round(seconds / 60)
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60} h {minutes % 60:02d} min"


class RunDisplay:
    """Draws the progress of ``cells`` run ``eta.jobs`` at a time (thread-safe)."""

    def __init__(self, task: str, cells: list[Cell], eta: Eta, stream=None) -> None:
        self.stream = stream or sys.stderr
        self.bars = bool(getattr(self.stream, "isatty", lambda: False)())
        self.eta, self.labels = eta, {cell.label: cell for cell in cells}
        self.lock = threading.Lock()
        self.free = list(range(1, eta.jobs + 1))  # bar positions below the grid's bar
        self.slots: dict[str, tuple[tqdm, int, list[str]]] = {}  # label -> (bar, pos, [phase])
        self.done = self.failed = 0
        self.ended: set[Cell] = set()
        self.interruptions: dict[Cell, int] = {}  # how often a cell's worker died under it
        self.announced: set[str] = set()  # public parts whose deferrals were announced
        self.cached: dict[Cell, list[str]] = {}  # public parts a cell loaded from the cache
        self.grid = tqdm(
            total=len(cells), desc=task, unit="cell", position=0, file=self.stream,
            dynamic_ncols=True, disable=not self.bars,
            bar_format="{desc}: {n}/{total} cells |{bar}| {elapsed}{postfix}",
        )  # fmt: skip

    def handle(self, event: tuple) -> None:
        """Take one event from a cell (see :mod:`bench.progress`)."""
        kind, label, *payload = event
        cell = self.labels.get(label)
        if cell is None or cell in self.ended:  # a late event of a cell that ended
            return
        with self.lock:
            if kind == "start":
                self._start(cell)
            elif kind == "bar" and label in self.slots:
                self._bar(label, *payload)
            elif kind == "note":
                self._write(f"{label}: {payload[0]}")
            elif kind == "public":
                self.eta.public(cell, payload[1])
            elif kind == "cached":
                self.cached.setdefault(cell, []).append(payload[0].removesuffix(" (public)"))
            self._status()

    def finished(self, cell: Cell, error: str | None = None) -> None:
        """A cell ended: done, or failed with ``error`` (the others go on)."""
        with self.lock:
            self.ended.add(cell)
            self.eta.finished(cell)
            timing = self.eta.timings.get(cell)
            wall = time.monotonic() - timing.start if timing else None
            self._release_slot(cell)
            if error is None:
                self.done += 1
                cached = self.cached.pop(cell, [])
                loaded = f"; public parts from the cache: {', '.join(cached)}" if cached else ""
                done = f"done in {format_seconds(wall)}{loaded}"
                self._write(f"{cell.label}: {done} ({self._counts()})")
            else:
                self.failed += 1
                self._write(f"cell {cell.label} failed: {error}")
            self.grid.update(1)
            self._status()

    def interrupted(self, cell: Cell) -> None:
        """A cell's worker died before it finished: it may run again (a fresh start)."""
        with self.lock:
            self.interruptions[cell] = self.interruptions.get(cell, 0) + 1
            self.eta.timings.pop(cell, None)
            self._release_slot(cell)
            self._write(f"{cell.label}: its worker process died; running it again")

    def deferred(self, cell: Cell, part: str) -> None:
        """A worker deferred a cell whose next public part another cell is building."""
        with self.lock:
            self.eta.timings.pop(cell, None)
            self._release_slot(cell)
            if part not in self.announced:  # one line per part, not one per cell
                self.announced.add(part)
                self._write(f"{cell.label}: {part} is being built by another cell; "
                            "running other cells first")  # fmt: skip

    def _release_slot(self, cell: Cell) -> None:
        """Close the cell's progress bar and free its line (the lock is held)."""
        bar, position, _ = self.slots.pop(cell.label, (None, 0, None))
        if bar is not None:
            self.free.append(position)
            bar.close()

    def note(self, line: str) -> None:
        """One line for the person watching, between the progress bars."""
        with self.lock:
            self._write(line)

    def close(self) -> None:
        with self.lock:
            for bar, _, _ in self.slots.values():
                bar.close()
            self.grid.close()

    def _start(self, cell: Cell) -> None:
        self.eta.started(cell)
        position = self.free.pop(0) if self.free else len(self.slots) + 1
        bar = tqdm(
            total=None, desc=cell.label, position=position, leave=False, file=self.stream,
            dynamic_ncols=True, disable=not self.bars,
        )  # fmt: skip
        self.slots[cell.label] = (bar, position, [""])

    def _bar(self, label: str, desc: str, unit: str, n: int, total: int | None) -> None:
        bar, _, phase = self.slots[label]
        if phase[0] != desc:  # a new phase: a fresh bar under its own name
            phase[0] = desc
            bar.set_description_str(f"{label} | {desc}", refresh=False)
            bar.unit = unit
            bar.reset(total=total)
        bar.n = n
        bar.refresh()

    def _counts(self) -> str:
        total, running = len(self.labels), len(self.slots)
        text = f"{self.done + self.failed}/{total} cells, {running} running"
        if self.failed:
            text += f", {self.failed} failed"
        return f"{text}, ETA {format_seconds(self.eta.remaining())}"

    def _status(self) -> None:
        if self.bars:
            self.grid.set_postfix_str(self._counts().split(" cells, ", 1)[1], refresh=True)

    def _write(self, line: str) -> None:
        if self.bars:
            tqdm.write(line, file=self.stream)
        else:
            print(line, file=self.stream, flush=True)
