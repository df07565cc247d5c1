"""Speed, tracked apart from correctness.

pytest-benchmark files (``python -m pytest benchmarks --benchmark-only``), the asv suite
(``benchmarks/asv``) and scripts (``python -m benchmarks.dp_overhead``).
"""
