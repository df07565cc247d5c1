"""``bench compare``: cell-by-cell deltas, directions, tolerances, missing cells, formats."""

from __future__ import annotations

import pytest

from bench.cache import write_json_atomic
from bench.cli import main
from bench.metrics import higher_is_better

BASE_METRICS = {
    "success_empirical": 0.50,
    "success_empirical_ci_low": 0.40,
    "success_empirical_ci_high": 0.60,
    "mse_mean": 0.020,
}


def _write(root, metrics, *, method="prior-free", eps="1", seed=0, version=2, config="c1"):
    record = {
        "schema_version": 2,
        "task": "recon-attack",
        "task_version": version,
        "method": method,
        "seed": seed,
        "epsilon": eps,
        "profile": "smoke",
        "dataset": {"name": "phantom-cardiac"},
        "config": {},
        "config_hash": config,
        "privacy": {},
        "metrics": metrics,
        "higher_is_better": {m: higher_is_better(m) for m in metrics},
        "risk": {},
        "outputs": {},
    }
    path = root / f"recon-attack@v{version}" / method / f"eps={eps}" / f"seed={seed}.json"
    write_json_atomic(path, record)


@pytest.fixture
def dirs(tmp_path):
    base, new = tmp_path / "base", tmp_path / "new"
    for seed in (0, 1):
        _write(base, BASE_METRICS, seed=seed)
        _write(new, BASE_METRICS, seed=seed)
    return base, new


def _compare(capsys, base, new, *flags):
    code = main(["compare", str(base), str(new), *flags])
    out, err = capsys.readouterr()
    return code, out, err


def test_identical_results_pass(capsys, dirs):
    code, out, _ = _compare(capsys, *dirs)
    assert code == 0
    assert out.startswith("bench compare: OK (0 worse, 0 missing, 0 better, 0 new, 4 ok)")
    assert "no differences" in out


def test_a_worse_metric_fails_unless_within_its_tolerance(capsys, dirs):
    base, new = dirs
    for seed in (0, 1):
        _write(new, {**BASE_METRICS, "success_empirical": 0.45}, seed=seed)
    code, out, _ = _compare(capsys, base, new)
    assert code == 1 and "WORSE" in out and "-0.05" in out
    assert "0.5 [0.4, 0.6]" in out  # the value with its CI
    assert _compare(capsys, base, new, "--tolerance", "success_empirical=0.06")[0] == 0
    assert _compare(capsys, base, new, "--tolerance", "success_empirical=5%")[0] == 1
    assert _compare(capsys, base, new, "--tolerance", "success_empirical=11%")[0] == 0
    assert _compare(capsys, base, new, "--default-tolerance", "0.1")[0] == 0


def test_direction_comes_from_the_metric(capsys, dirs):
    base, new = dirs
    _write(new, {**BASE_METRICS, "mse_mean": 0.010}, seed=0)  # lower mse: better
    code, out, _ = _compare(capsys, base, new)
    assert code == 0 and "better" in out
    _write(new, {**BASE_METRICS, "mse_mean": 0.030}, seed=0)
    code, out, _ = _compare(capsys, base, new)  # not the primary metric: shown, not gating
    assert code == 0 and "(not gating)" in out
    assert _compare(capsys, base, new, "--metrics", "mse_mean")[0] == 1
    assert _compare(capsys, base, new, "--default-tolerance", "0")[0] == 1


def test_a_missing_cell_fails_and_a_new_one_does_not(capsys, dirs):
    base, new = dirs
    _write(new, BASE_METRICS, eps="10")
    code, out, _ = _compare(capsys, base, new)
    assert code == 0 and "recon-attack@v2 prior-free eps=10 seed=0" in out and "new" in out
    (new / "recon-attack@v2" / "prior-free" / "eps=1" / "seed=1.json").unlink()
    code, out, _ = _compare(capsys, base, new)
    assert code == 1 and "MISSING" in out and "eps=1 seed=1" in out


def test_a_metric_the_new_run_lacks_is_missing(capsys, dirs):
    base, new = dirs
    _write(new, {"success_empirical": 0.5}, seed=0)
    code, out, _ = _compare(capsys, base, new)
    assert code == 1 and "mse_mean" in out and "MISSING" in out


def test_metrics_flag_restricts_the_comparison(capsys, dirs):
    base, new = dirs
    _write(new, {**BASE_METRICS, "mse_mean": 0.9}, seed=0)
    assert _compare(capsys, base, new, "--metrics", "success_empirical")[0] == 0


def test_markdown_for_a_ci_comment(capsys, dirs):
    base, new = dirs
    _write(new, {**BASE_METRICS, "success_empirical": 0.3}, seed=0)
    code, out, _ = _compare(capsys, base, new, "--format", "markdown", "--all")
    assert code == 1 and out.startswith("**bench compare: FAIL")
    assert "| cell" in out and "|---" in out and out.count(" seed=") == 4
    assert "| method, epsilon" in out and "| WORSE" in out


def test_other_task_versions_are_never_compared(capsys, tmp_path):
    base, new = tmp_path / "base", tmp_path / "new"
    _write(base, BASE_METRICS)
    _write(new, BASE_METRICS, version=3)
    code, out, _ = _compare(capsys, base, new)
    assert code == 1 and "task versions are never compared" in out


def test_a_changed_config_is_noted_but_does_not_fail(capsys, dirs):
    base, new = dirs
    _write(new, BASE_METRICS, seed=0, config="c2")
    code, out, _ = _compare(capsys, base, new)
    assert code == 0 and "config_hash differs (c1 -> c2)" in out


@pytest.mark.parametrize(
    ("flags", "reason"),
    [
        (["--tolerance", "success_empirical"], "bad --tolerance 'success_empirical'"),
        (["--tolerance", "success_empirical=-1"], "bad --tolerance"),
        (["--tolerance", "succes_empirical=0.1"], "did you mean 'success_empirical'?"),
        (["--metrics", "nope"], "unknown metric 'nope'"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(capsys, dirs, flags, reason):
    code, _, err = _compare(capsys, *dirs, *flags)
    assert code == 2 and reason in err and len(err.strip().splitlines()) == 1


def test_an_empty_or_absent_directory_is_bad_input(capsys, dirs, tmp_path):
    assert _compare(capsys, dirs[0], tmp_path / "absent")[0] == 2
    (tmp_path / "empty").mkdir()
    code, _, err = _compare(capsys, dirs[0], tmp_path / "empty")
    assert code == 2 and "no records below" in err


def test_a_null_metric_in_the_new_run_is_missing_and_in_the_base_is_no_regression(capsys, dirs):
    base, new = dirs
    _write(new, {**BASE_METRICS, "mse_mean": None}, seed=0)
    code, out, _ = _compare(capsys, base, new)
    assert code == 1 and "MISSING" in out and "mse_mean" in out
    _write(new, BASE_METRICS, seed=0)
    _write(base, {**BASE_METRICS, "mse_mean": None}, seed=1)
    code, out, _ = _compare(capsys, base, new)
    assert code == 0, out


def test_nan_or_a_non_number_in_the_new_run_is_missing_and_in_the_base_is_no_regression(
    capsys, dirs
):
    base, new = dirs
    path = new / "recon-attack@v2" / "prior-free" / "eps=1" / "seed=0.json"
    path.write_text(
        path.read_text().replace('"success_empirical": 0.5', '"success_empirical": NaN')
    )
    code, out, _ = _compare(capsys, base, new)
    assert code == 1 and "MISSING" in out and "success_empirical is nan, read as missing" in out
    _write(new, {**BASE_METRICS, "success_empirical": "high"}, seed=0)
    code, out, _ = _compare(capsys, base, new)
    assert code == 1 and "success_empirical is 'high', read as missing" in out
    _write(new, BASE_METRICS, seed=0)
    path = base / "recon-attack@v2" / "prior-free" / "eps=1" / "seed=1.json"
    path.write_text(path.read_text().replace('"mse_mean": 0.02', '"mse_mean": NaN'))
    assert _compare(capsys, base, new)[0] == 0


def test_the_primary_metric_has_the_tasks_default_tolerance(capsys, dirs):
    base, new = dirs
    for seed in (0, 1):
        _write(new, {**BASE_METRICS, "success_empirical": 0.49}, seed=seed)
    code, out, _ = _compare(capsys, base, new)
    assert code == 0 and "0.02" in out  # within recon-attack's 0.02
    for seed in (0, 1):
        _write(new, {**BASE_METRICS, "success_empirical": 0.47}, seed=seed)
    assert _compare(capsys, base, new)[0] == 1


def test_the_verdict_is_over_seeds_paired_by_seed(capsys, tmp_path):
    """One seed worse by 0.05, two better: noise, not a regression; all worse: one."""
    base, new = tmp_path / "base", tmp_path / "new"
    for seed, value in enumerate((0.45, 0.54, 0.53)):
        _write(base, BASE_METRICS, seed=seed)
        _write(new, {**BASE_METRICS, "success_empirical": value}, seed=seed)
    code, out, _ = _compare(capsys, base, new)
    assert code == 0, out
    row = next(
        line for line in out.splitlines() if line.startswith("recon-attack@v2 prior-free eps=1 ")
    )
    assert "1/3" in row and row.split()[-1] == "ok"  # one seed worse, the verdict is not
    for seed, value in enumerate((0.45, 0.47, 0.46)):
        _write(new, {**BASE_METRICS, "success_empirical": value}, seed=seed)
    code, out, _ = _compare(capsys, base, new)
    assert code == 1 and "3/3" in out and "-0.04 ± 0.0058" in out


def _documented_workflow() -> dict:
    import re
    from pathlib import Path

    import yaml

    doc = Path(__file__).resolve().parents[2] / "docs" / "regression-tracking.md"
    (block,) = re.findall(
        r"```yaml\n(# \.github/workflows/privmedbench\.yml.*?)```", doc.read_text(), re.S
    )
    return yaml.safe_load(block)


def _step(steps: list[dict], name: str) -> dict:
    return next(step for step in steps if step.get("name", "").startswith(name))


def _bash(script: str, cwd, env: dict) -> int:
    import subprocess

    # GitHub runs a `run:` step as `bash -e {0}`
    return subprocess.run(["bash", "-e", "-c", script], cwd=cwd, env=env, timeout=600).returncode


@pytest.mark.integration
@pytest.mark.slow  # ~15-30 s: a pip dry-run install and two bench runs (opt-in)
def test_the_documented_ci_example_runs_as_written(tmp_path):
    """Every shell step of docs/regression-tracking.md's workflow, as written: the suite
    installed from a git URL (this checkout as ``git+file://``; pip in ``--dry-run`` with no
    dependencies, so nothing is downloaded or changed), the smoke grid (the suite's
    ``prior-free`` standing in for the user's ``my-attack``), the compare and the gate."""
    import json
    import os
    import shutil
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    steps = _documented_workflow()["jobs"]["smoke"]["steps"]
    work, shims = tmp_path / "user-repo", tmp_path / "bin"
    work.mkdir()
    shims.mkdir()
    (work / "pyproject.toml").write_text(
        '[project]\nname = "my-attack"\nversion = "0.1"\n[tool.setuptools]\npy-modules = []\n'
    )
    (shims / "pip").write_text(
        f'#!/bin/bash\nexec {sys.executable} -m pip "$1" --dry-run --no-deps '
        '--no-build-isolation --quiet "${@:2}"\n'
    )
    (shims / "pip").chmod(0o755)
    env = {**os.environ, "PATH": f"{shims}:{os.environ['PATH']}"}
    env |= {
        "GITHUB_OUTPUT": str(tmp_path / "output"),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary"),
    }

    install = _step(steps, "Install the suite")
    assert install["env"]["PRIVMEDBENCH_GIT"] == "${{ vars.PRIVMEDBENCH_GIT }}"
    assert _bash(install["run"], work, {**env, "PRIVMEDBENCH_GIT": f"git+file://{repo}"}) == 0

    run = _step(steps, "Run the smoke grid")["run"].replace("my-attack", "prior-free")
    assert _bash(run, work, env) == 0
    shutil.copytree(work / "runs" / "new", work / "baselines" / "smoke")

    def compare_then_gate() -> int:
        (tmp_path / "output").write_text("")
        assert _bash(_step(steps, "Compare")["run"], work, env) == 0  # set +e: never fails
        status = (tmp_path / "output").read_text().strip().rpartition("status=")[2]
        gate = _step(steps, "Fail on a regression")
        assert gate["if"] == "steps.compare.outputs.status != '0'"
        return _bash(gate["run"], work, env) if status != "0" else 0

    assert compare_then_gate() == 0
    assert "bench compare: OK" in (work / "compare.md").read_text()
    for path in (work / "runs" / "new").rglob("eps=10/seed=*.json"):  # a regression
        record = json.loads(path.read_text())
        record["metrics"]["success_empirical"] -= 0.1
        path.write_text(json.dumps(record))
    assert compare_then_gate() == 1
    assert "**bench compare: FAIL" in (tmp_path / "summary").read_text()
