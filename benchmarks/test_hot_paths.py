"""The asv suite's hot paths under pytest-benchmark (``pytest benchmarks --benchmark-only``).

One implementation, two runners: each test drives a benchmark class of ``benchmarks/asv``
(loaded by path; the folder is named after asv, which it must not shadow). Bounds and
data loading have their own files (test_speed.py, test_data_loading.py).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ASV = Path(__file__).resolve().parent / "asv"


def _suite(module: str, cls: str, *params):
    spec = importlib.util.spec_from_file_location(f"asv_bench_{module}", ASV / f"{module}.py")
    loaded = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loaded)
    suite = getattr(loaded, cls)()
    try:
        getattr(suite, "setup", lambda *_: None)(*params)
    except NotImplementedError as exc:  # asv's "not applicable"
        pytest.skip(str(exc))
    return suite


@pytest.mark.parametrize("mode", ["dp", "non-private"])
@pytest.mark.parametrize("model", ["small-cnn", "vit-tiny"])
def test_dp_step(benchmark, model, mode):
    suite = _suite("dp_step", "TimeDPStep", model, mode)
    benchmark(suite.time_step, model, mode)


@pytest.mark.parametrize("schedule", ["q=1,T=1", "q=0.01,T=10000"])
@pytest.mark.parametrize("accountant", ["rdp", "prv"])
def test_compute_epsilon(benchmark, accountant, schedule):
    suite = _suite("accounting", "TimeEpsilon")
    benchmark.pedantic(suite.time_compute_epsilon, (accountant, schedule), rounds=3)


@pytest.mark.parametrize("dim", [64, 512])
def test_fid_matrix_square_root(benchmark, dim):
    suite = _suite("fid", "TimeFID", dim)
    benchmark.pedantic(suite.time_sqrtm_scipy, (dim,), rounds=3)


@pytest.mark.parametrize("dim", [64, 512])
def test_suite_fid(benchmark, dim):
    suite = _suite("fid", "TimeSuiteFID", dim)
    benchmark.pedantic(suite.time_fid, (dim,), rounds=3)


@pytest.mark.parametrize("step", ["time_load_and_validate", "time_render_markdown"])
def test_leaderboard(benchmark, step):
    suite = _suite("leaderboard", "TimeLeaderboard")
    benchmark.pedantic(getattr(suite, step), rounds=3)


@pytest.mark.parametrize("schedule", ["q=0.1,T=50", "q=0.0125,T=948", "q=0.01,T=10000"])
@pytest.mark.parametrize("method", ["pld_bound", "monte_carlo"])
def test_subsampled_rero(benchmark, method, schedule):
    suite = _suite("bounds", "TimeSubsampledRero")
    if method == "monte_carlo" and schedule == "q=0.01,T=10000":
        pytest.skip("minutes: the reason the PLD bound replaced it")
    benchmark.pedantic(getattr(suite, f"time_{method}"), (schedule,), rounds=3)
