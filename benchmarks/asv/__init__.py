"""asv benchmarks of the hot paths (``asv run``; see docs/regression-tracking.md).

Each module times one part with ``time_*`` (and ``peakmem_*`` where memory matters).
Torch is pinned to one thread so that numbers compare across runs on a shared machine.
"""
