"""``--jobs 2`` runs cells in worker processes and writes the records ``--jobs 1`` writes."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from fixtures.records import without_timings

from bench.api import run
from bench.runner import RunRequest
from bench.tasks import get_task


def _records(out: Path) -> dict[str, dict]:
    return {
        str(path.relative_to(out)): without_timings(json.loads(path.read_text()))
        for path in sorted(out.rglob("seed=*.json"))
    }


def _request(task: str, methods: tuple, epsilons: tuple, out: Path) -> RunRequest:
    dataset = get_task(task).datasets[0]
    # the RDP accountant calibrates in milliseconds (PRV takes seconds per epsilon)
    return RunRequest(task, epsilons, methods, (0,), "smoke", dataset, out, accountant="rdp")


def _same_records(request_of, tmp_path: Path) -> None:
    two = run(request_of(tmp_path / "two"), jobs=2)
    one = run(request_of(tmp_path / "one"), jobs=1)
    assert not two.failed and not one.failed
    records = _records(tmp_path / "two")
    assert len(records) == len(two.statuses)
    assert records == _records(tmp_path / "one")


def test_jobs_2_writes_the_records_of_jobs_1_spares_the_rest_of_a_failed_cell_and_resumes(
    toy_task, tmp_path, monkeypatch, capfd
):
    """The fast variant (the instant toy task, registered in this process only, so the
    workers must get its specs); real cells: the slow tests below.

    The two eps = 1 cells need one public part (4 s to build): the worker that meets it
    being built defers its cell and runs the others meanwhile instead of waiting."""
    monkeypatch.setenv("PRIVMEDBENCH_CACHE", str(tmp_path / "cache"))

    def request_of(out):
        return RunRequest(
            "toy", (1.0, 10.0, math.inf), ("toy-method",), (0, 1), "smoke", "phantom-mammo",
            out, overrides={"fail_at": "10", "public_s": "4"},
        )  # fmt: skip

    two = run(request_of(tmp_path / "two"), jobs=2)
    err = capfd.readouterr().err
    one = run(request_of(tmp_path / "one"))
    assert "6 cells to run, 2 jobs (as asked)" in err
    deferred = [line.split(":")[0] for line in err.splitlines() if "running other cells" in line]
    assert len(deferred) == 1 and "eps=1 " in deferred[0], err
    assert f"{deferred[0]}: part is being built by another cell; running other" in err
    done = [line.split(":")[0] for line in err.splitlines() if ": done in " in line]
    assert done.index("toy-method eps=inf seed=1") < done.index(deferred[0]), err
    failed = ["toy-method eps=10 seed=0", "toy-method eps=10 seed=1"]
    for result in (two, one):
        errors = [f"{s.cell.label}: {s.error}" for s in result.failed]
        assert sorted(s.cell.label for s in result.failed) == failed, errors
        assert all("toy failure" in s.error for s in result.failed)
    records = _records(tmp_path / "two")
    assert len(records) == 4 and records == _records(tmp_path / "one")
    again = run(request_of(tmp_path / "two"), jobs=1)  # the failed cells only: no new pool
    assert sorted(s.state for s in again.statuses) == ["failed"] * 2 + ["skipped"] * 4
    assert "4 of 6 cells finished earlier, skipped" in capfd.readouterr().err


@pytest.mark.slow  # three pools of spawned workers: ~35 s on 2 cores under load 6
def test_a_dead_worker_halves_the_jobs_and_fails_only_its_own_cell(toy_task, tmp_path, capfd):
    """A worker killed mid-cell (here: os._exit, as the OOM killer would) breaks the pool
    and stops the cell beside it; the rest then run one at a time, so the cell that kills
    its worker again is the one that fails, and every other cell is written."""
    request = RunRequest(
        "toy", (1.0, 10.0, math.inf), ("toy-method",), (0,), "smoke", "phantom-mammo",
        tmp_path, overrides={"die_at": "10"},
    )  # fmt: skip
    result = run(request, jobs=2)
    err = capfd.readouterr().err
    assert "a worker process died: running the rest with 1 job at once" in err
    assert [(s.cell.label, s.error) for s in result.failed] == [
        ("toy-method eps=10 seed=0", "its worker process died twice (killed, or out of memory?)")
    ]
    assert sorted(_records(tmp_path)) == [
        "toy@v1/toy-method/eps=1/seed=0.json", "toy@v1/toy-method/eps=inf/seed=0.json",
    ]  # fmt: skip


@pytest.mark.slow  # ~40 s idle, 3 min on 2 cores under load 14: spawned workers import torch
def test_jobs_2_writes_the_records_of_jobs_1_on_real_cells(tmp_path):
    def request_of(out):
        return _request("recon-attack", ("prior-free", "identification"), (1.0, 10.0), out)

    _same_records(request_of, tmp_path)


@pytest.mark.slow  # ~25 s idle, ~50 s loaded: a pool of its own
def test_a_failed_cell_in_a_worker_is_reported_and_the_others_go_on(tmp_path):
    request = _request("recon-attack", ("prior-free", "identification"), (10.0,), tmp_path)
    # rows=-1 passes validation and fails in the cell (prior-free has the field only)
    result = run(RunRequest(**{**request.__dict__, "overrides": {"rows": "-1"}}), jobs=2)
    assert [s.cell.method for s in result.failed] == ["prior-free"]
    assert "negative dimension" in result.failed[0].error
    assert list(_records(tmp_path)) == ["recon-attack@v2/identification/eps=10/seed=0.json"]


@pytest.mark.slow  # ~2 min on 2 loaded cores: two cold caches of the GAN and backbone
def test_jobs_2_on_a_cold_cache_trains_the_shared_public_parts_once(tmp_path, monkeypatch, capfd):
    monkeypatch.setenv("PRIVMEDBENCH_CACHE", str(tmp_path / "cache-two"))

    def request_of(out):
        if out.name == "one":  # a cold cache of its own: nothing reused from --jobs 2
            monkeypatch.setenv("PRIVMEDBENCH_CACHE", str(tmp_path / "cache-one"))
        return _request("mammo-cls", ("dp-vit-real+syn",), (1.0, 10.0), out)

    two = run(request_of(tmp_path / "two"), jobs=2)
    err = capfd.readouterr().err
    one = run(request_of(tmp_path / "one"), jobs=1)
    assert not two.failed and not one.failed
    assert _records(tmp_path / "two") == _records(tmp_path / "one")
    trained = [line.split(": ")[1] for line in err.splitlines() if ": trained in " in line]
    assert trained and len(trained) == len(set(trained)), trained  # each part trained once
    assert "waiting for the cell training it" in err  # both cells needed it at once


@pytest.mark.slow  # ~20 s idle: one cardiac-ldm smoke cell on a cold cache
def test_a_cardiac_cell_names_every_long_phase(tmp_path, monkeypatch):
    from bench import progress
    from bench.runner import expand_cells, run_cell

    monkeypatch.setenv("PRIVMEDBENCH_CACHE", str(tmp_path / "cache"))
    request = RunRequest(
        "cardiac-ldm", (10.0,), ("dp-ldm",), (0,), "smoke", "phantom-cardiac", tmp_path
    )
    events = []
    (cell,) = expand_cells(request)
    with progress.reporting(events.append, cell.label):
        assert run_cell(request, cell, progress=progress.track).state == "done"
    phases = {e[2] for e in events if e[0] == "bar"}
    assert {"autoencoder (public)", "pre-training (public)", "private training"} <= phases
    assert {"evaluators (public): segmenter", "evaluators (public): volume encoder"} <= phases
    trained = {e[2] for e in events if e[0] == "public"}
    assert {"autoencoder (public)", "pretrained (public)", "segmenter (public)"} <= trained
