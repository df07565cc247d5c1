"""Runner plumbing on the instant toy task: resume, isolation, atomic records, summary."""

import json
import math
import re

import pytest

from bench.api import run
from bench.errors import BenchError, RecordError
from bench.records import load_record, record_path
from bench.runner import RunRequest, expand_cells


def _request(tmp_path, **kw):
    base = dict(
        task="toy",
        epsilons=(1.0, 10.0, math.inf),
        methods=("toy-method",),
        seeds=(0, 1),
        profile="smoke",
        dataset="phantom-mammo",
        out=tmp_path / "runs",
    )
    return RunRequest(**{**base, **kw})


def test_grid_writes_one_strict_record_per_cell(toy_task, tmp_path):
    result = run(_request(tmp_path))
    assert [s.state for s in result.statuses] == ["done"] * 6
    for cell in expand_cells(_request(tmp_path)):
        path = record_path(tmp_path / "runs", 1, cell)
        record = json.loads(path.read_text())  # strict JSON: parses with the stdlib
        assert record["method"] == "toy-method" and record["seed"] == cell.seed
        assert record["higher_is_better"] == {"mse_mean": False}
    inf_record = load_record(tmp_path / "runs/toy@v1/toy-method/eps=inf/seed=0.json")
    assert inf_record["privacy"]["target_epsilon"] is None
    assert not list((tmp_path / "runs").rglob("*.tmp"))
    for name in ("summary.md", "summary.csv", "summary.png"):
        assert (tmp_path / "runs/toy@v1" / name).stat().st_size > 0


def test_rerun_skips_finished_cells_and_overwrite_recomputes(toy_task, tmp_path):
    run(_request(tmp_path))
    path = tmp_path / "runs/toy@v1/toy-method/eps=1/seed=0.json"
    mtime = path.stat().st_mtime_ns
    again = run(_request(tmp_path))
    assert {s.state for s in again.statuses} == {"skipped"}
    assert path.stat().st_mtime_ns == mtime
    forced = run(_request(tmp_path, overwrite=True))
    assert {s.state for s in forced.statuses} == {"done"}


def test_failing_cell_is_isolated_and_writes_nothing(toy_task, tmp_path):
    result = run(_request(tmp_path, overrides={"fail_at": "10"}))
    states = {(s.cell.epsilon, s.cell.seed): s.state for s in result.statuses}
    assert states[(10.0, 0)] == "failed" and states[(1.0, 0)] == "done"
    assert not (tmp_path / "runs/toy@v1/toy-method/eps=10").exists()
    assert "toy failure" in result.failed[0].error


def test_records_of_another_config_are_not_mixed(toy_task, tmp_path):
    run(_request(tmp_path))
    with pytest.raises(RecordError, match="--overwrite or another --out"):
        run(_request(tmp_path, overrides={"scale": "2"}))


def test_corrupt_record_is_reported(toy_task, tmp_path):
    run(_request(tmp_path))
    (tmp_path / "runs/toy@v1/toy-method/eps=1/seed=0.json").write_text("{trunc")
    with pytest.raises(RecordError, match="corrupt record"):
        run(_request(tmp_path))


def test_unknown_override_and_dataset_are_rejected_before_running(toy_task, tmp_path):
    with pytest.raises(BenchError, match="unknown setting 'scal'"):
        run(_request(tmp_path, overrides={"scal": "2"}))
    with pytest.raises(BenchError, match="cannot use dataset"):
        run(_request(tmp_path, dataset="phantom-cardiac"))
    assert not (tmp_path / "runs/toy@v1").exists()


def test_summary_aggregates_over_seeds(toy_task, tmp_path):
    import pandas as pd

    result = run(_request(tmp_path))
    # mse_mean = 1/eps + seed -> mean over seeds 0,1 is 1/eps + 0.5, population std 0.5
    table = pd.read_csv(tmp_path / "runs/toy@v1/summary.csv")
    assert table["mse_mean_mean"].tolist() == pytest.approx([1.5, 0.6, 0.5])
    assert table["mse_mean_std"].tolist() == pytest.approx([0.5, 0.5, 0.5])
    assert table["seeds"].tolist() == [2, 2, 2]
    assert "1.5 ± 0.5" in result.table and "| inf " in result.table


@pytest.mark.integration
@pytest.mark.slow  # ~20 s: a submitit job array (opt-in: pytest -m slow)
def test_submitit_launcher_runs_cells_as_a_job_array(tmp_path):
    # Jobs run in fresh processes, so the task must be a registered built-in one.
    request = RunRequest(
        task="recon-attack",
        epsilons=(1.0, 10.0),
        methods=("prior-free",),
        seeds=(0,),
        profile="smoke",
        dataset="phantom-cardiac",
        out=tmp_path / "runs",
        overrides={"protocol.prior_free.trials": "5"},
    )
    result = run(request, launcher="submitit", cluster="local")
    assert [s.state for s in result.statuses] == ["done", "done"]
    assert len(list((tmp_path / "runs").rglob("seed=0.json"))) == 2


def test_records_of_another_data_root_are_not_mixed(tmp_path, monkeypatch):
    import bench.runner as runner

    request = RunRequest(
        task="recon-attack",
        epsilons=(10.0,),
        methods=("prior-free",),
        seeds=(0,),
        profile="smoke",
        dataset="phantom-cardiac",
        out=tmp_path / "runs",
        overrides={"protocol.prior_free.trials": "5"},
    )
    run(request)
    assert runner.is_finished(request, expand_cells(request)[0])
    # The same dataset name from another copy (another root content hash) must not resume.
    monkeypatch.setattr(runner, "_data_identity", lambda name, root: (name, "other-copy"))
    with pytest.raises(RecordError, match="--overwrite or another --out"):
        runner.is_finished(request, expand_cells(request)[0])


@pytest.mark.parametrize(
    ("change", "named"),
    [({"accountant": "rdp"}, "accountant 'prv' (now 'rdp')"), ({"threads": 2}, "threads 1")],
)
def test_the_finished_cell_match_covers_accountant_and_threads(toy_task, tmp_path, change, named):
    run(_request(tmp_path, epsilons=(1.0,), seeds=(0,)))
    record = load_record(tmp_path / "runs/toy@v1/toy-method/eps=1/seed=0.json")
    assert record["environment"]["threads"] == 1
    with pytest.raises(RecordError, match=re.escape(named)):
        run(_request(tmp_path, epsilons=(1.0,), seeds=(0,), **change))


def test_a_second_run_on_the_same_out_refuses_naming_the_first(toy_task, tmp_path):
    from bench.locks import FolderBusyError, folder_lock

    busy = pytest.raises(FolderBusyError, match=r"in use by another run \(pid \d+")
    with folder_lock(tmp_path / "runs/toy@v1"), busy:  # as a run in another process would
        run(_request(tmp_path))
    assert not list((tmp_path / "runs").rglob("seed=*.json"))
    assert not run(_request(tmp_path)).failed  # released: the next run goes ahead


@pytest.mark.parametrize(
    ("value", "problem"),
    [("NaN", "NaN is not strict JSON"), ('"high"', "is 'high', not a number"),
     ("Infinity", "Infinity is not strict JSON"), ("true", "is True, not a number")],
)  # fmt: skip
def test_a_record_with_a_non_finite_or_non_numeric_metric_is_refused(
    toy_task, tmp_path, value, problem
):
    run(_request(tmp_path, epsilons=(1.0,), seeds=(0,)))
    path = tmp_path / "runs/toy@v1/toy-method/eps=1/seed=0.json"
    text = path.read_text()
    record = json.loads(text)
    (name,) = record["metrics"]
    old = f'"{name}": {json.dumps(record["metrics"][name])}'
    assert old in text
    path.write_text(text.replace(old, f'"{name}": {value}'))
    with pytest.raises(RecordError, match=re.escape(problem)):
        load_record(path)


def test_git_is_queried_without_optional_locks(monkeypatch):
    import subprocess

    from bench import records

    calls = []

    def fake_run(cmd, **kwargs):
        calls.append(cmd)
        return subprocess.CompletedProcess(cmd, 0, stdout="abc\n", stderr="")

    monkeypatch.setattr(records.subprocess, "run", fake_run)
    records.code_version.cache_clear()
    try:
        records.code_version()
    finally:
        records.code_version.cache_clear()
    assert calls and all(c[0] != "git" or "status" not in c or c[1] == "--no-optional-locks"
                         for c in calls)  # fmt: skip
    assert any("status" in c for c in calls)


def test_a_run_sweeps_stale_temp_files_of_killed_cache_writes(toy_task, tmp_path, monkeypatch):
    import os

    from bench.cache import STALE_AFTER_S, cache_dir

    monkeypatch.setenv("PRIVMEDBENCH_CACHE", str(tmp_path / "cache"))
    folder = cache_dir("cardiac-ldm", "autoencoder")
    stale, fresh = folder / ".abc.pt.x1.tmp", folder / ".abc.pt.x2.tmp"
    for path in (stale, fresh):
        path.write_bytes(b"partial")
    old = os.stat(stale).st_mtime - 2 * STALE_AFTER_S
    os.utime(stale, (old, old))
    run(_request(tmp_path, epsilons=(1.0,), seeds=(0,)))
    assert not stale.exists() and fresh.exists()  # a write in flight is left alone


def test_an_epsilon_prv_cannot_calibrate_is_refused_before_any_cell(toy_task, tmp_path):
    with pytest.raises(BenchError, match="epsilon 1000 is above what PRV calibration supports"):
        run(_request(tmp_path, epsilons=(1000.0,)))
    assert not (tmp_path / "runs").exists()


def test_with_rdp_a_cross_check_prv_cannot_compute_is_null_with_its_reason(toy_task, tmp_path):
    result = run(_request(tmp_path, epsilons=(1000.0,), seeds=(0,), accountant="rdp"))
    assert not result.failed, [s.error for s in result.failed]
    record = load_record(tmp_path / "runs/toy@v1/toy-method/eps=1000/seed=0.json")
    privacy = record["privacy"]
    assert privacy["achieved_epsilon"] <= 1000
    assert privacy["cross_check"]["epsilon"] is None
    assert "RDP accountant still answers" in privacy["cross_check"]["note"]
