"""CPU thread limits for cells.

The suite's CPU models are small: on a few shared cores, torch's and the BLAS library's
thread pools mostly wait on each other (a 2-core machine ran the mammo-cls smoke grid
2.4 times slower with two threads than with one), and a fixed thread count keeps the
numbers reproducible. The runner therefore runs every CPU cell with a stated number of
threads (``RunRequest.threads``, default 1), restored afterwards.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator


@contextlib.contextmanager
def cpu_threads(count: int) -> Iterator[None]:
    """A block run with ``count`` torch and BLAS threads (0: leave them as they are).

    Example:
        >>> import torch
        >>> with cpu_threads(1):
        ...     torch.get_num_threads()
        1
    """
    if count <= 0:
        yield
        return
    import torch
    from threadpoolctl import threadpool_limits

    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        with threadpool_limits(count):
            yield
    finally:
        torch.set_num_threads(before)
