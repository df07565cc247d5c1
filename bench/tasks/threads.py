"""CPU thread limits for cells.

The suite's CPU models are small: on a few shared cores, torch's and the BLAS library's
thread pools mostly wait on each other (a 2-core machine ran the mammo-cls smoke grid
2.4 times slower with two threads than with one), and a fixed thread count keeps the
numbers reproducible. Cells therefore run with a stated number of threads, restored
afterwards.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator

from bench.tasks.base import CellContext, CellOutput

Run = Callable[[CellContext], CellOutput]


@contextlib.contextmanager
def cpu_threads(count: int) -> Iterator[None]:
    """A block run with ``count`` torch and BLAS threads; the counts are restored after."""
    import torch
    from threadpoolctl import threadpool_limits

    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        with threadpool_limits(count):
            yield
    finally:
        torch.set_num_threads(before)


def limit_threads(threads: int | Callable[[CellContext], int] = 1) -> Callable[[Run], Run]:
    """Decorator: run a CPU cell with ``threads`` torch and BLAS threads (0: leave as is).

    ``threads`` may be a function of the cell's context (e.g. a config field). Cells on
    another device run unchanged.

    Example:
        >>> import torch
        >>> @limit_threads(1)
        ... def run(ctx):
        ...     return torch.get_num_threads()
        >>> from types import SimpleNamespace
        >>> run(SimpleNamespace(device="cpu"))
        1
    """

    def decorate(run: Run) -> Run:
        @functools.wraps(run)
        def wrapper(ctx: CellContext) -> CellOutput:
            count = threads(ctx) if callable(threads) else threads
            if ctx.device != "cpu" or count <= 0:
                return run(ctx)
            with cpu_threads(count):
                return run(ctx)

        return wrapper

    return decorate
