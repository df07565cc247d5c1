"""Kill -9 in the middle of a grid, then re-run: nothing finished is lost or recomputed."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

GRID = [
    "run",
    "--task",
    "recon-attack",
    "--profile",
    "smoke",
    "--methods",
    "prior-free",
    "--eps",
    "1,2,3,5,10,20,50,inf",
    "--set",
    "protocol.prior_free.trials=400",
]


@pytest.mark.integration
@pytest.mark.slow  # ~35 s: a real kill -9 mid-grid and a resume (opt-in: pytest -m slow)
def test_kill_and_resume(tmp_path):
    out = tmp_path / "runs"
    cmd = [sys.executable, "-m", "bench", *GRID, "--out", str(out)]
    proc = subprocess.Popen(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    deadline = time.monotonic() + 120
    while len(list(out.rglob("seed=*.json"))) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    finished = {p: p.stat().st_mtime_ns for p in out.rglob("seed=*.json")}
    assert 2 <= len(finished) < 8, "the kill should land in the middle of the grid"
    for path in finished:  # every record present is complete, strict JSON
        json.loads(path.read_text())

    rerun = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    records = list(out.rglob("seed=*.json"))
    assert len(records) == 8
    for path, mtime in finished.items():  # finished cells were kept, not recomputed
        assert path.stat().st_mtime_ns == mtime


def test_a_rerun_removes_the_temp_files_of_killed_writes_only(tmp_path):
    from bench.api import run
    from bench.records import task_dir
    from bench.runner import RunRequest
    from bench.tasks import get_task

    request = RunRequest(
        task="recon-attack", epsilons=(10.0,), methods=("prior-free",), seeds=(0,),
        profile="smoke", dataset="phantom-cardiac", out=tmp_path,
        overrides={"protocol.prior_free.trials": "20"},
    )  # fmt: skip
    version = get_task("recon-attack").version
    folder = task_dir(tmp_path, "recon-attack", version) / "prior-free" / "eps=10"
    folder.mkdir(parents=True)
    stale, fresh = folder / ".seed=0.json.abc.tmp", folder / ".seed=0.json.def.tmp"
    for path in (stale, fresh):
        path.write_text("{")
    two_hours_ago = time.time() - 7200
    os.utime(stale, (two_hours_ago, two_hours_ago))
    assert not run(request).failed
    assert not stale.exists() and fresh.exists()  # a write in flight is never touched
