"""Speed of the cardiac-ldm denoiser: one DP-SGD step vs one non-private step (CPU).

``python -m pytest benchmarks/test_cardiac_speed.py --benchmark-only``; the DP /
non-private ratio is the ratio of the two medians of a size (docs/cardiac-ldm.md). The
paper size runs here at a reduced batch (2); its real batch needs a GPU
(``scripts/gpu_bench_cardiac.py``). Peak memory (the process's peak RSS, which only grows,
so later rows are upper bounds) goes into each benchmark's ``extra_info``.
"""

import resource

import pytest
import torch

from generators.ldm_speed import SIZES, make_step


@pytest.mark.parametrize("private", [False, True], ids=["non-private", "dp"])
@pytest.mark.parametrize(("size", "batch"), [("small", 16), ("paper", 2)])
def test_denoiser_step(benchmark, size, batch, private):
    torch.set_num_threads(1)
    config, latent = SIZES[size]
    step = make_step(config, latent, batch=batch, private=private)
    step()  # warm-up: allocations, oneDNN primitives
    rounds = 5 if size == "small" else 2
    loss = benchmark.pedantic(step, rounds=rounds, iterations=1)
    benchmark.extra_info["peak_rss_gib"] = (
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    )
    benchmark.extra_info["batch"] = batch
    assert loss > 0
