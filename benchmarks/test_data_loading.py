"""Data loading throughput (pytest-benchmark): ``python -m pytest benchmarks/test_data_loading.py
--benchmark-only``.

Each dataset is loaded cold (index, read, preprocess, write the cache: a fresh cache
folder every round) and warm (the second run reads one ``.npz``); ``extra_info`` holds
samples per second. Fake layouts in the real formats are built in tmp folders; the real
Sunnybrook subset is added when ``../shared`` is present.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from fixtures import fake_cardiac, fake_mammo, fake_sunnybrook

from bench.datasets.loading import load

SUBSET = Path(__file__).resolve().parents[2] / "shared" / "data" / "sunnybrook-subset"
CASES = {
    "acdc": (lambda root: fake_cardiac.make_acdc(root, n=8), (13, 96, 96)),
    "mnms": (fake_cardiac.make_mnms, (13, 96, 96)),
    "ukbb": (lambda root: fake_cardiac.make_ukbb(root, n=8), (13, 96, 96)),
    "sunnybrook": (fake_sunnybrook.make_sunnybrook, (13, 96, 96)),
    "cbis-ddsm": (fake_mammo.make_cbis, 128),
    "mammo-png": (fake_mammo.make_png, 128),
    "vindr-mammo": (fake_mammo.make_vindr, 128),
}


@pytest.fixture(scope="module")
def roots(tmp_path_factory):
    built = {}
    for name, (make, _) in CASES.items():
        built[name] = tmp_path_factory.mktemp(name)
        make(built[name])
    if SUBSET.is_dir():
        built["sunnybrook-real"] = SUBSET
    return built


def _name(case: str) -> str:
    return case.removesuffix("-real")


def _shape(case: str):
    return CASES[_name(case)][1]


def _record(benchmark, data, cached: bool) -> None:
    assert data.provenance.from_cache is cached
    benchmark.extra_info["samples"] = len(data)
    benchmark.extra_info["samples_per_s"] = round(len(data) / benchmark.stats.stats.mean, 1)


CASE_NAMES = [*CASES, "sunnybrook-real"]


@pytest.mark.parametrize("case", CASE_NAMES)
def test_cold_load(benchmark, roots, tmp_path, monkeypatch, case):
    if case not in roots:
        pytest.skip("../shared/data/sunnybrook-subset is not available")
    rounds = iter(range(100))

    def fresh_cache():
        monkeypatch.setenv("PRIVMEDBENCH_CACHE", str(tmp_path / f"cache{next(rounds)}"))
        return (_name(case),), {"root": roots[case], "shape": _shape(case)}

    data = benchmark.pedantic(load, setup=fresh_cache, rounds=3, iterations=1)
    _record(benchmark, data, cached=False)


@pytest.mark.parametrize("case", CASE_NAMES)
def test_cached_load(benchmark, roots, case):
    if case not in roots:
        pytest.skip("../shared/data/sunnybrook-subset is not available")
    load(_name(case), root=roots[case], shape=_shape(case))  # the first run fills the cache
    data = benchmark(load, _name(case), root=roots[case], shape=_shape(case))
    _record(benchmark, data, cached=True)
