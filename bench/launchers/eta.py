"""The remaining time of a grid, counting the public stages apart from the cells' own work.

The first cell of a seed pays for the public parts (autoencoder, pre-training,
evaluators, GAN, ...) that the later cells load from the cache: a mean over finished
cells' wall times would count that work again for every remaining cell (the ETA after a
cardiac-ldm cell was 7 times the time left). So each finished cell's wall time is split
into the public stages it trained (reported by the checkpoint cache, see
:mod:`bench.progress`) and its own work; the estimate is then

    remaining cells x their method's mean own time
    + unseen seeds x the public seconds per seed seen so far

divided by the number of cells that can run at once. Before any cell has finished, the
measured figures of :mod:`bench.launchers.capacity` stand in, when there are some.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field

from bench.tasks.base import Cell


@dataclass
class _Timing:
    start: float
    public_s: float = 0.0
    own_s: float | None = None  # set when the cell finishes


@dataclass
class Eta:
    """Remaining seconds of ``cells`` run ``jobs`` at a time.

    Example:
        >>> cells = [Cell("t", "m", 1.0, 0), Cell("t", "m", 10.0, 0), Cell("t", "m", 100.0, 0)]
        >>> eta = Eta(cells, jobs=1)
        >>> eta.started(cells[0], now=0.0)
        >>> eta.public(cells[0], 70.0)  # 70 s of the first cell trained public parts
        >>> eta.finished(cells[0], now=80.0)
        >>> eta.remaining(now=80.0)  # two cells of 10 s each, not of 80 s
        20.0
    """

    cells: list[Cell]
    jobs: int
    prior_cell_s: float | None = None  # measured seconds of one cell (without public parts)
    prior_public_s: float | None = None  # and of the public parts of one seed
    timings: dict[Cell, _Timing] = field(default_factory=dict)

    def started(self, cell: Cell, now: float | None = None) -> None:
        self.timings[cell] = _Timing(time.monotonic() if now is None else now)

    def public(self, cell: Cell, seconds: float) -> None:
        if cell in self.timings:
            self.timings[cell].public_s += seconds

    def finished(self, cell: Cell, now: float | None = None) -> None:
        timing = self.timings.get(cell)
        if timing is not None:
            wall = (time.monotonic() if now is None else now) - timing.start
            timing.own_s = max(wall - timing.public_s, 0.0)

    def remaining(self, now: float | None = None) -> float | None:
        """Seconds left, or ``None`` when nothing is known yet to base it on."""
        now = time.monotonic() if now is None else now
        done = {c: t for c, t in self.timings.items() if t.own_s is not None}
        running = {c: t for c, t in self.timings.items() if t.own_s is None}
        waiting = [c for c in self.cells if c not in self.timings]
        if not waiting and not running:
            return 0.0
        parallel = max(min(self.jobs, len(waiting) + len(running)), 1)
        if not done:
            return self._prior(waiting, running, now, parallel)
        own = self._own_seconds(done)
        work = sum(own(c) for c in waiting)
        work += sum(max(own(c) - (now - t.start - t.public_s), 0.0) for c, t in running.items())
        started_seeds = {c.seed for c in self.timings}
        work += len({c.seed for c in waiting} - started_seeds) * self._public_per_seed(done)
        return work / parallel

    def _prior(self, waiting: list[Cell], running: dict, now: float, parallel: int):
        """Before any cell finished: the measured figures, less the time spent so far."""
        if self.prior_cell_s is None:
            return None
        cells = [*waiting, *running]
        work = len(cells) * self.prior_cell_s
        work += len({c.seed for c in cells}) * (self.prior_public_s or 0.0)
        spent = max((now - t.start for t in running.values()), default=0.0)
        return max(work / parallel - spent, 0.0)

    def _own_seconds(self, done: dict[Cell, _Timing]):
        """Own seconds of a cell: its method's mean so far, else every method's."""
        overall = statistics.fmean(t.own_s for t in done.values())
        by_method: dict[str, list[float]] = {}
        for cell, timing in done.items():
            by_method.setdefault(cell.method, []).append(timing.own_s)
        means = {m: statistics.fmean(v) for m, v in by_method.items()}
        return lambda cell: means.get(cell.method, overall)

    def _public_per_seed(self, done: dict[Cell, _Timing]) -> float:
        seeds = {c.seed for c in done}
        return sum(t.public_s for t in done.values()) / len(seeds)
