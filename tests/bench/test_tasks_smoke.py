"""Every registered task runs its smoke path with every method, every record carries the
ledger's complete privacy block, and a fresh run of every task passes the board's checks
and renders.

The committed boards are re-rendered from committed submissions (test_committed_boards);
the board test here makes sure that what the code produces *now* is accepted, for every
task. It reuses the smoke grid (every method at eps 10 and inf, seed 0), under board
rules relaxed to that grid (the real rules' grid and seed count are tested in
test_leaderboard_checks).
"""

import math

import pytest
import yaml

from bench.api import run
from bench.leaderboard import rules as board_rules
from bench.leaderboard.render import render_task
from bench.leaderboard.submission import submit
from bench.records import iter_records
from bench.runner import RunRequest
from bench.tasks import get_task, methods_of, task_names

BUILTIN = [name for name in task_names() if name != "toy"]
GRID = (10.0, math.inf)
_RUNS: dict = {}


def _smoke_run(task_name: str, tmp_path_factory):
    """The task's smoke grid, run once per session: (run folder, its records)."""
    if task_name not in _RUNS:
        task = get_task(task_name)
        out = tmp_path_factory.mktemp(f"smoke-{task_name}")
        methods = tuple(m.name for m in methods_of(task_name))
        request = RunRequest(task_name, GRID, methods, (0,), "smoke", task.datasets[0], out)
        result = run(request)
        assert not result.failed, [s.error for s in result.failed]
        _RUNS[task_name] = out
    return _RUNS[task_name], iter_records(_RUNS[task_name])


# These tasks' smoke grids (every method at eps 10 and inf, seed 0) also run as the module
# fixtures of tests/bench/tasks/<task>/test_<task>.py, whose tests check the same records:
# here they are opt-in (slow), to keep the default suite within 5 minutes (cardiac-ldm 40 s,
# mammo-cls 10 s); recon-attack and privacy-audit keep the render path in the default run.
_DUPLICATED = ("cardiac-ldm", "mammo-cls")


def _cases(names):
    return [pytest.param(n, marks=pytest.mark.slow) if n in _DUPLICATED else n for n in names]


@pytest.mark.parametrize("task_name", _cases(BUILTIN))
def test_smoke_profile_of_every_task(task_name, tmp_path_factory):
    task = get_task(task_name)
    methods = tuple(m.name for m in methods_of(task_name))
    out, records = _smoke_run(task_name, tmp_path_factory)
    assert len(records) == 2 * len(methods)
    assert task.primary_metric in records[0]["metrics"]
    assert (out / f"{task_name}@v{task.version}" / "summary.png").exists()
    for record in records:
        _check_privacy(record, task)
        method = record["code"]["method"]  # the reference methods come with the suite
        assert method["distribution"] == "privmedbench", method
        assert method["package"] in ("attacks", "classifiers", "generators", "controls"), method


PRIVACY_KEYS = {
    "target_epsilon", "achieved_epsilon", "delta", "noise_multiplier", "sample_rate", "steps",
    "max_grad_norm", "sampling", "accountant", "cross_check", "neighbouring", "unit",
    "how_obtained", "private_data_steps", "public_data_steps",
}  # fmt: skip


def _check_privacy(record: dict, task) -> None:
    """The ledger's block: complete, the test-split evaluation listed, achieved <= target."""
    privacy, label = record["privacy"], f"{record['method']} eps={record['epsilon']}"
    assert set(privacy) >= PRIVACY_KEYS, (label, PRIVACY_KEYS - set(privacy))
    assert privacy["delta"] == task.delta and privacy["unit"] == task.privacy_unit
    names = [step["name"] for step in privacy["private_data_steps"]]
    assert "evaluation" in names, (label, names)
    if privacy["target_epsilon"] is not None and privacy["achieved_epsilon"] is not None:
        assert privacy["achieved_epsilon"] <= privacy["target_epsilon"], label
    assert record["outputs"], f"{label}: no per-example outputs"


CHEAP = {"recon-attack": "prior-free", "mammo-cls": "vit-syn-only", "cardiac-ldm": "dp-ldm"}


@pytest.fixture
def small_grid_rules(monkeypatch):
    relaxed = lambda task: board_rules.BoardRules(epsilons=GRID, min_seeds=1)  # noqa: E731
    for module in ("bench.leaderboard.submission", "bench.leaderboard.render"):
        monkeypatch.setattr(f"{module}.rules_for", relaxed)


@pytest.mark.integration
@pytest.mark.parametrize("task_name", _cases(sorted(CHEAP)))
def test_a_fresh_run_is_accepted_and_renders(
    task_name, small_grid_rules, tmp_path, tmp_path_factory
):
    task, method = get_task(task_name), CHEAP[task_name]
    out, _ = _smoke_run(task_name, tmp_path_factory)
    card = tmp_path / "card.yaml"
    fields = {
        "name": method,
        "task": task_name,
        "authors": ["CI"],
        "description": "fresh run of the current code",
        "code_url": "https://example.org",
        "privacy_unit": task.privacy_unit,
        "public_data": "the task's public split",
        "accountant": "prv",
        "hardware": "CPU",
        "deviations": "smoke profile",
    }
    card.write_text(yaml.safe_dump(fields))
    root = tmp_path / "leaderboards"
    path = submit(out, card, root, allow_smoke=True)
    assert path.is_file()
    written = render_task(root, task_name)
    board = (root / task_name / "README.md").read_text()
    assert method in board and any(p.name == "README.md" for p in written)
