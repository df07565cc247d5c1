"""Progress events of a running cell, for the one progress display of a run.

A cell reports what it does as small picklable events: the phases of its loops
(:func:`track`, what the runner hands methods as ``ctx.progress``), the public parts it
trains or loads (:func:`public_stage`, :func:`note`, used by the checkpoint cache). The
events go to the *sink* of the process: the display itself when cells run in the
launcher's process, a queue to it when they run in worker processes (``--jobs N``), so
that one display in the parent draws every cell and no two processes write bars. Without
a sink (a library call, the tests) the events are dropped and nothing is printed.

Events are tuples ``(kind, cell label, ...)``:

- ``("bar", label, desc, unit, n, total)``: a loop named ``desc`` is at ``n`` of
  ``total`` (``None`` when unknown); sent at most every :data:`BAR_INTERVAL_S` and at
  its end.
- ``("note", label, text)``: a line worth reading (a public part trained or waited for).
- ``("cached", label, what)``: the public part ``what`` came from the cache.
- ``("public", label, what, seconds)``: the cell spent ``seconds`` training the public
  part ``what`` (once per key and run): the ETA counts it apart from the cell's own work.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable, Iterator

BAR_INTERVAL_S = 0.5

_sink: Callable[[tuple], None] | None = None
_label = ""
_public_depth = 0  # nested public stages (a part built while building another) count once


@contextlib.contextmanager
def reporting(sink: Callable[[tuple], None] | None, label: str) -> Iterator[None]:
    """Within the block, this process's events go to ``sink``, tagged with ``label``."""
    global _sink, _label
    before = _sink, _label
    _sink, _label = sink, label
    try:
        yield
    finally:
        _sink, _label = before


def emit(kind: str, *payload) -> None:
    """Send one event to the sink (dropped without one)."""
    if _sink is not None:
        _sink((kind, _label, *payload))


def track(iterable: Iterable, desc: str = "", unit: str = "it", total: int | None = None):
    """Iterate ``iterable`` as the phase ``desc`` of the current cell.

    Example:
        >>> events = []
        >>> with reporting(events.append, "cell"):
        ...     _ = list(track(range(3), desc="epochs", unit="epoch"))
        >>> events[-1]
        ('bar', 'cell', 'epochs', 'epoch', 3, 3)
    """
    if total is None and hasattr(iterable, "__len__"):
        total = len(iterable)
    emit("bar", desc, unit, 0, total)
    last, n = time.monotonic(), 0
    for n, item in enumerate(iterable, start=1):
        yield item
        now = time.monotonic()
        if now - last >= BAR_INTERVAL_S:
            emit("bar", desc, unit, n, total)
            last = now
    emit("bar", desc, unit, n, total)


def note(text: str) -> None:
    """Report a line about the current cell (e.g. which public part came from the cache)."""
    emit("note", text)


def loaded(what: str) -> None:
    """Report that the public part ``what`` came from the cache (not trained now)."""
    emit("cached", what)


@contextlib.contextmanager
def public_stage(what: str) -> Iterator[None]:
    """Time the training of the public part ``what`` and report it when it ends."""
    global _public_depth
    _public_depth += 1
    start = time.perf_counter()
    try:
        yield
    finally:
        _public_depth -= 1
    seconds = time.perf_counter() - start
    if _public_depth == 0:  # a nested part's seconds are inside the outer one's
        emit("public", what, seconds)
    note(f"{what}: trained in {seconds:.0f} s, now cached")
