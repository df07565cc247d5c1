"""The worked examples of docs/add-a-method.md, installed as a user would and run by the CLI.

pip builds the example package with its own build backend and installs it, once per
module, into a temporary ``--target`` folder (no network, nothing left in the
environment); the suite then finds ``norm-prior``, ``dp-linear`` and ``mean-volume``
through the ``bench.methods`` entry point in fresh processes, so this test session's
registries stay untouched.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
DISTRIBUTION = "pmb-examples"  # tests/plugin_example/pyproject.toml

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> dict[str, str]:
    """The environment of a Python that has the examples installed."""
    tmp_path = tmp_path_factory.mktemp("plugin")
    source = tmp_path / "src"  # a copy: building writes build/ and *.egg-info beside the source
    shutil.copytree(
        HERE, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__", "test_*")
    )
    site = tmp_path / "site"
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index"]
    pip += ["--no-build-isolation", "--target", str(site), str(source)]
    proc = subprocess.run(pip, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    path = os.pathsep.join(p for p in (str(site), os.environ.get("PYTHONPATH")) if p)
    return {**os.environ, "PYTHONPATH": path}


def _bench(env, *argv) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "bench", *map(str, argv)]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)


def _smoke_records(env, task: str, method: str, out: Path) -> list[dict]:
    """``bench run`` of ``method`` at the smoke profile, eps 10 and inf: its two records."""
    grid = ["--profile", "smoke", "--eps", "10,inf", "--seeds", "0", "--out", out]
    run = _bench(env, "run", "--task", task, "--methods", method, *grid)
    assert run.returncode == 0, run.stderr
    folder = next(out.glob(f"{task}@v*")) / method
    records = [json.loads(p.read_text()) for p in sorted(folder.rglob("seed=*.json"))]
    assert [r["epsilon"] for r in records] == ["10", "inf"]
    return records


def test_installed_plugin_is_listed_and_runs(installed, tmp_path):
    from bench.privacy.accounting import calibrate
    from bench.privacy.budget import PrivacyBudget

    listed = _bench(installed, "list")
    assert listed.returncode == 0 and "norm-prior: prior-free attack projected" in listed.stdout
    records = _smoke_records(installed, "recon-attack", "norm-prior", tmp_path / "runs")
    private, baseline = records
    threat = private["protocol"]["prior_free"]
    assert private["method"] == "norm-prior" and private["metrics"]["trials"] == threat["trials"]
    # The plug-in never chose its noise: the task calibrated the cell's budget for it.
    budget = PrivacyBudget(10.0, private["privacy"]["delta"], private["privacy"]["accountant"])
    sigma = calibrate(budget, threat["sample_rate"], threat["steps"]).sigma
    assert private["privacy"]["noise_multiplier"] == sigma == private["risk"]["sigma"]
    assert private["privacy"]["achieved_epsilon"] <= 10
    assert 0 <= private["metrics"]["success_empirical"] <= 1
    assert len(private["outputs"]["nmse"]) == threat["trials"]
    assert baseline["metrics"]["success_empirical"] == 1.0  # no noise: the projection is exact
    # the record names the plug-in's code beside the suite's (a --target install: no git)
    code = private["code"]["method"]
    assert (code["package"], code["distribution"]) == ("pmb_example_attack", DISTRIBUTION)
    assert code["version"] and code["git_commit"] is None


def test_the_session_never_sees_the_plugin():
    from bench.tasks import methods_of

    assert "norm-prior" not in [m.name for m in methods_of("recon-attack")]


@pytest.mark.parametrize(
    "package", ["pmb_example_attack", "pmb_example_classifier", "pmb_example_generator"]
)
def test_the_docs_show_the_example_verbatim(package):
    source = (HERE / package / "__init__.py").read_text()
    page = (HERE.parents[1] / "docs" / "add-a-method.md").read_text()
    assert source[source.index("from dataclasses import") :] in page


@pytest.mark.slow  # 26 s: a cardiac cell; the classifier plug-in test covers the same entry point
def test_installed_generator_plugin_runs_the_cardiac_task(installed, tmp_path):
    private = _smoke_records(installed, "cardiac-ldm", "mean-volume", tmp_path / "runs")[0]
    assert 0 < private["privacy"]["achieved_epsilon"] <= 10
    steps = [s["name"] for s in private["privacy"]["private_data_steps"]]
    assert steps == ["mean volume per phase", "evaluation"]
    assert private["metrics"]["fid"] > 0 and "fid_reconstruction" not in private["metrics"]
    assert len(private["outputs"]["test_ids"]) == private["dataset"]["test_volumes"]
    assert private["scoring"]["artifact"] == {"kind": "DP mean volume per phase"}


def test_installed_classifier_plugin_runs_the_mammo_task(installed, tmp_path):
    listed = _bench(installed, "list")
    assert listed.returncode == 0 and "dp-linear: DP logistic regression" in listed.stdout
    private = _smoke_records(installed, "mammo-cls", "dp-linear", tmp_path / "runs")[0]
    assert 0 < private["privacy"]["achieved_epsilon"] <= 10
    steps = [s["name"] for s in private["privacy"]["private_data_steps"]]
    assert steps == ["logistic regression", "evaluation"]
    assert 0 <= private["metrics"]["auroc_internal"] <= 1
    assert len(private["outputs"]["internal"]["score"]) == private["protocol"]["n_test"]
    assert private["scoring"]["method"] == {"parameters": 32 * 32 * 2 + 2}
