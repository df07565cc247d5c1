"""A fresh run of every task, made by the current code, is submitted and rendered.

The committed boards are re-rendered from committed submissions (test_committed_boards);
this test makes sure that what the code produces *now* passes the board's checks and
renders, for every task. To stay fast it runs one cheap method per task on two epsilons
and one seed at the smoke profile, under rules relaxed to that grid (the real rules'
grid and seed count are tested in test_leaderboard_checks).
"""

from __future__ import annotations

import math

import pytest
import yaml

from bench.leaderboard import rules as board_rules
from bench.leaderboard.render import render_task
from bench.leaderboard.submission import submit

pytestmark = pytest.mark.integration

GRID = (10.0, math.inf)
CHEAP = {"recon-attack": "prior-free", "mammo-cls": "vit-syn-only", "cardiac-ldm": "dp-ldm"}


@pytest.fixture
def small_grid_rules(monkeypatch):
    relaxed = lambda task: board_rules.BoardRules(epsilons=GRID, min_seeds=1)  # noqa: E731
    for module in ("bench.leaderboard.submission", "bench.leaderboard.render"):
        monkeypatch.setattr(f"{module}.rules_for", relaxed)


@pytest.mark.parametrize("task_name", sorted(CHEAP))
def test_a_fresh_run_is_accepted_and_renders(task_name, small_grid_rules, tmp_path):
    from bench.api import run
    from bench.runner import RunRequest
    from bench.tasks import get_task

    task, method = get_task(task_name), CHEAP[task_name]
    out = tmp_path / "runs"
    request = RunRequest(task_name, GRID, (method,), (0,), "smoke", task.datasets[0], out)
    result = run(request)
    assert not result.failed, [s.error for s in result.failed]
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
