"""--delta and --secure-rng of bench run: validated, recorded, part of the finished match."""

import math
import sys
import types

import pytest

from bench.api import run
from bench.errors import BenchError, RecordError
from bench.records import load_record
from tests.bench.test_runner import _request

RECORD = "runs/toy@v1/toy-method/eps=1/seed=0.json"


def test_delta_is_recorded_and_part_of_the_finished_cell_match(toy_task, tmp_path):
    run(_request(tmp_path, delta=1e-6))
    record = load_record(tmp_path / RECORD)
    assert record["privacy"]["delta"] == 1e-6
    assert "rng" not in record["privacy"]  # seeded
    assert record["privacy"]["how_obtained"].endswith("at delta 1e-06 (--delta)")
    again = run(_request(tmp_path, delta=1e-6))
    assert {s.state for s in again.statuses} == {"skipped"}
    with pytest.raises(RecordError, match=r"delta 1e-06 \(now 1e-05\)"):
        run(_request(tmp_path))  # the task's default delta: not the same cells


@pytest.mark.parametrize("delta", [None, 1e-5])
def test_the_task_delta_is_the_default(toy_task, tmp_path, delta):
    run(_request(tmp_path, epsilons=(1.0,), seeds=(0,), delta=delta))
    privacy = load_record(tmp_path / RECORD)["privacy"]
    # the same record whether --delta repeats the task's delta or not
    assert privacy["delta"] == 1e-5 and privacy["how_obtained"].endswith("the task's delta")


@pytest.mark.parametrize("delta", [0.0, 1.0, -1e-5, math.nan])
def test_bad_delta_is_refused_before_any_cell(toy_task, tmp_path, delta):
    with pytest.raises(BenchError, match="bad --delta"):
        run(_request(tmp_path, delta=delta))
    assert not (tmp_path / "runs/toy@v1").exists()


def test_delta_above_one_over_n_warns_once(toy_task, tmp_path, capsys, monkeypatch):
    from bench import notices

    monkeypatch.setattr(notices, "_seen", set())
    run(_request(tmp_path, delta=0.3, epsilons=(1.0,)))  # the toy task holds 4 rows
    err = capsys.readouterr().err
    assert err.count("warning: delta 0.3 >= 1/N for the 4 records") == 1


def test_secure_rng_needs_torchcsprng(toy_task, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "torchcsprng", None)  # not importable
    with pytest.raises(BenchError, match="--secure-rng needs the torchcsprng package"):
        run(_request(tmp_path, secure_rng=True))


def test_secure_rng_is_part_of_the_finished_cell_match(toy_task, tmp_path, monkeypatch):
    run(_request(tmp_path, epsilons=(math.inf,), seeds=(0,)))
    fake = types.ModuleType("torchcsprng")
    fake.__spec__ = types.SimpleNamespace(name="torchcsprng")
    monkeypatch.setitem(sys.modules, "torchcsprng", fake)
    with pytest.raises(RecordError, match=r"rng 'seeded' \(now 'secure'\)"):
        run(_request(tmp_path, epsilons=(math.inf,), seeds=(0,), secure_rng=True))
