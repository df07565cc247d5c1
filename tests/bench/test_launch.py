"""The local launcher's parts: default jobs, start banner, ETA, display, the build lock."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from bench import progress
from bench.launchers import capacity
from bench.launchers.display import RunDisplay
from bench.launchers.eta import Eta
from bench.launchers.local import banner
from bench.runner import RunRequest
from bench.tasks.base import Cell

ROOT = Path(__file__).resolve().parents[2]


def _cells(seeds=(0,), epsilons=(1.0, 10.0, 100.0), methods=("m",)) -> list[Cell]:
    return [Cell("t", m, e, s) for m in methods for e in epsilons for s in seeds]


def test_eta_after_a_cold_first_cell_counts_the_public_stage_once():
    # the case: a first cell of 32 min of which 26 min public, then 6-min cells
    cells = _cells(epsilons=(1.0, 2.0, 3.0))
    eta = Eta(cells, jobs=1)
    eta.started(cells[0], now=0.0)
    eta.public(cells[0], 26 * 60.0)
    eta.finished(cells[0], now=32 * 60.0)
    assert eta.remaining(now=32 * 60.0) == pytest.approx(2 * 6 * 60.0)


def test_eta_counts_public_parts_of_seeds_not_started_yet_and_shares_the_jobs():
    cells = _cells(seeds=(0, 1), epsilons=(1.0, 10.0))
    eta = Eta(cells, jobs=2)
    first = cells[0]  # seed 0
    eta.started(first, now=0.0)
    eta.public(first, 50.0)
    eta.finished(first, now=60.0)
    # left: one cell of seed 0 (10 s) and two of seed 1 (10 s each + 50 s public once)
    assert eta.remaining(now=60.0) == pytest.approx((3 * 10.0 + 50.0) / 2)


def test_eta_before_any_cell_uses_the_measured_figures_or_says_it_does_not_know():
    cells = _cells()
    assert Eta(cells, jobs=1).remaining(now=0.0) is None
    measured = Eta(cells, jobs=3, prior_cell_s=10.0, prior_public_s=30.0)
    assert measured.remaining(now=0.0) == pytest.approx((3 * 10.0 + 30.0) / 3)


def test_default_jobs_are_bounded_by_cores_memory_and_cells(monkeypatch):
    monkeypatch.delenv(capacity.JOBS_ENV)  # the suite's own default (1)
    monkeypatch.setattr(capacity, "usable_cores", lambda: 16)
    monkeypatch.setattr(capacity, "busy_cores", lambda: 0)
    monkeypatch.setattr(capacity, "available_memory_gib", lambda: 10.0)
    unknown = capacity.UNMEASURED_PEAK_GIB
    jobs, why = capacity.default_jobs("plugin-task", "small", "cpu", cells=40)
    assert jobs == int(10.0 * (1 - capacity.MEMORY_KEPT_FREE) // unknown)
    assert "16 cores" in why and "10.0 GiB available" in why and "not measured" in why
    assert capacity.default_jobs("plugin-task", "small", "cpu", cells=1)[0] == 1
    monkeypatch.setattr(capacity, "available_memory_gib", lambda: 1000.0)
    assert capacity.default_jobs("plugin-task", "small", "cpu", cells=40)[0] == 16
    assert capacity.default_jobs("plugin-task", "small", "cuda", cells=40)[0] == 1
    monkeypatch.setattr(capacity, "busy_cores", lambda: 13)  # a loaded machine
    jobs, why = capacity.default_jobs("plugin-task", "small", "cpu", cells=40)
    assert jobs == 3 and "3 of them idle" in why
    monkeypatch.setattr(capacity, "busy_cores", lambda: 40)
    assert capacity.default_jobs("plugin-task", "small", "cpu", cells=40)[0] == 1


def test_default_jobs_from_the_environment_and_a_bad_value(monkeypatch):
    from bench.errors import BenchError

    monkeypatch.setenv(capacity.JOBS_ENV, "3")
    assert capacity.default_jobs("t", "small", "cpu", cells=40) == (3, "$PRIVMEDBENCH_JOBS")
    monkeypatch.setenv(capacity.JOBS_ENV, "two")
    with pytest.raises(BenchError, match="bad \\$PRIVMEDBENCH_JOBS 'two'"):
        capacity.default_jobs("t", "small", "cpu", cells=40)


def test_the_start_banner_states_profile_device_jobs_and_expected_time(tmp_path):
    request = RunRequest("recon-attack", (1.0,), ("prior-free",), (0,), "smoke", "x", tmp_path)
    cells = _cells()
    text = banner(request, cells, 2, "as asked", Eta(cells, 2, 10.0, 30.0))
    assert text.startswith("bench run: recon-attack, profile smoke, device cpu, 3 cells")
    assert "2 jobs (as asked)" in text and "expected about 30 s" in text
    unknown = banner(request, cells, 1, "as asked", Eta(cells, 1))
    assert "1 job (" in unknown and "known after the first cell" in unknown


def test_the_display_names_each_phase_and_says_what_came_from_the_cache():
    cells = _cells(epsilons=(1.0, 10.0))
    stream = io.StringIO()
    display = RunDisplay("t", cells, Eta(cells, jobs=2), stream)
    label = cells[0].label
    for event in (
        ("start", label),
        ("bar", label, "pre-training (public)", "epoch", 1, 4),
        ("cached", label, "autoencoder (public)"),
        ("bar", label, "private training", "epoch", 2, 4),
        ("note", label, "evaluators: trained in 3 s, now cached"),
        ("start", "not a cell of this run"),
    ):
        display.handle(event)
    assert display.slots[label][2] == ["private training"]  # the bar shows the new phase
    display.finished(cells[0])
    display.finished(cells[1], error="RuntimeError: boom")
    display.close()
    lines = stream.getvalue().splitlines()
    assert lines[0] == f"{label}: evaluators: trained in 3 s, now cached"
    assert lines[1].startswith(f"{label}: done in ")
    assert "public parts from the cache: autoencoder" in lines[1] and "ETA" in lines[1]
    assert lines[2] == f"cell {cells[1].label} failed: RuntimeError: boom"


def test_track_reports_its_phase_and_is_silent_without_a_sink():
    assert list(progress.track(range(2), desc="x")) == [0, 1]  # no sink: nothing happens
    events = []
    with progress.reporting(events.append, "cell"):
        list(progress.track(iter([1, 2]), desc="trials", unit="trial"))
        with progress.public_stage("gan (public)"), progress.public_stage("inner (public)"):
            pass
    assert events[0] == ("bar", "cell", "trials", "trial", 0, None)
    assert events[1] == ("bar", "cell", "trials", "trial", 2, None)
    public = [e for e in events if e[0] == "public"]
    assert [e[2] for e in public] == ["gan (public)"]  # a nested stage counts once


BUILDER = textwrap.dedent(
    """
    import json, os, pathlib, sys, time
    from bench import progress
    from bench.checkpoints import cached
    import torch

    folder = pathlib.Path(sys.argv[1])
    (folder / f"ready-{os.getpid()}").touch()
    events = []
    def build():
        with open(folder / "builds.log", "a") as log:
            print("built", file=log)
        deadline = time.monotonic() + 60  # until the other process is at the lock
        while len(list(folder.glob("ready-*"))) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1.0)
        return {"w": torch.ones(3)}, {}

    with progress.reporting(events.append, "cell"):
        _, _, sha = cached("lock-test", "part", {"k": 1}, build, device="cpu")
    print(json.dumps({"sha": sha, "events": [e[0] for e in events]}))
    """
)


def test_two_processes_needing_one_missing_part_train_it_once(tmp_path, monkeypatch):
    monkeypatch.setenv("PRIVMEDBENCH_CACHE", str(tmp_path / "cache"))
    cmd = [sys.executable, "-c", BUILDER, str(tmp_path)]
    runs = [subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True) for _ in range(2)]
    results = [json.loads(run.communicate(timeout=120)[0]) for run in runs]
    assert all(run.returncode == 0 for run in runs)
    assert (tmp_path / "builds.log").read_text().splitlines() == ["built"]
    assert results[0]["sha"] == results[1]["sha"]
    kinds = sorted(tuple(r["events"]) for r in results)
    # one trained it (and said so), the other waited, then loaded it from the cache
    assert kinds == [("note", "cached"), ("public", "note")]
