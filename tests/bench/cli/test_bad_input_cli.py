"""Bad input met at the CLI: one line naming the problem, a non-zero exit, nothing written."""

from __future__ import annotations

import json
import math

import pytest

from bench.cli import main


def _run(capsys, *argv):
    capsys.readouterr()  # drop what fixtures printed
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:  # argparse's usage errors
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def _one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


@pytest.mark.parametrize("flag", ["--out", "--data-root"])
def test_an_empty_path_is_refused(capsys, tmp_path, monkeypatch, flag):
    monkeypatch.chdir(tmp_path)
    code, _, err = _run(capsys, "run", "--task", "recon-attack", "--profile", "smoke", flag, "")
    assert code == 2 and "an empty path" in _one_line(err) and flag in err
    assert not list(tmp_path.iterdir())


@pytest.fixture
def toy_run(toy_task, tmp_path):
    from bench.api import run
    from bench.runner import RunRequest

    request = RunRequest(
        task="toy", epsilons=(1.0, math.inf), methods=("toy-method",), seeds=(0,),
        profile="smoke", dataset="phantom-mammo", out=tmp_path / "runs",
    )  # fmt: skip
    assert not run(request).failed
    return tmp_path / "runs" / "toy@v1"


def test_show_is_read_only(capsys, toy_run):
    before = {p.name: p.stat().st_mtime_ns for p in toy_run.glob("summary.*")}
    code, out, _ = _run(capsys, "show", toy_run.parent)
    assert code == 0 and "toy-method" in out
    assert {p.name: p.stat().st_mtime_ns for p in toy_run.glob("summary.*")} == before


@pytest.mark.parametrize("command", ["show", "compare"])
def test_a_nan_metric_is_refused_by_show_and_a_regression_for_compare(
    capsys, toy_run, tmp_path, command
):
    import shutil

    new = tmp_path / "new"
    shutil.copytree(toy_run.parent, new)
    path = new / "toy@v1/toy-method/eps=1/seed=0.json"
    record = json.loads(path.read_text())
    record["metrics"] = {k: math.nan for k in record["metrics"]}
    path.write_text(json.dumps(record))  # json.dumps writes NaN: not strict JSON
    argv = ("show", new) if command == "show" else ("compare", toy_run.parent, new)
    code, out, err = _run(capsys, *argv)
    if command == "compare":  # a NaN result is a missing metric: the gate fails
        assert code == 1 and "MISSING" in out and str(path) in out, out
        return
    line = _one_line(err)
    assert code == 2 and str(path) in line and "NaN is not strict JSON" in line
