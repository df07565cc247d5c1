"""The CI gate: every committed board equals a fresh render of its committed submissions.

When this fails, a submission changed without ``bench leaderboard render`` (or a board
was edited by hand): re-render and commit the result.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.leaderboard import BOARD_FILES, HTML_FILE
from bench.leaderboard.card import load_card
from bench.leaderboard.render import board_tasks, render_task, same_file

ROOT = Path(__file__).resolve().parents[3] / "leaderboards"
BOARDS = board_tasks(ROOT) if ROOT.is_dir() else []


def test_every_task_has_a_board_or_says_why_not():
    from bench.tasks import task_names

    for task in (name for name in task_names() if name != "toy"):
        placeholder = ROOT / task / "README.md"
        assert task in BOARDS or "no submissions yet" in placeholder.read_text(), task


@pytest.mark.parametrize("task", BOARDS)
def test_committed_board_is_up_to_date(task, tmp_path):
    render_task(ROOT, task, "markdown", out=tmp_path)
    committed = ROOT / task
    names = list(BOARD_FILES) + ([HTML_FILE] if (committed / HTML_FILE).exists() else [])
    if HTML_FILE in names:
        render_task(ROOT, task, "html", out=tmp_path)
    for name in names:
        assert (committed / name).is_file(), f"{committed / name} is missing: re-render"
        fresh = (tmp_path / task / name).read_bytes()
        assert same_file(name, (committed / name).read_bytes(), fresh), (
            f"{committed / name} is out of date with its submissions: "
            f"run `bench leaderboard render --task {task}` and commit the result"
        )


@pytest.mark.parametrize("path", sorted(ROOT.glob("*/cards/*.yaml")), ids=lambda p: p.stem)
def test_reference_cards_are_valid_and_match_their_file(path):
    card = load_card(path)
    assert (card.name, card.task, card.baseline) == (path.stem, path.parent.parent.name, True)
    if card.task in BOARDS:  # a task whose current version has a board lists its baselines
        assert (ROOT / card.task / "submissions" / f"{card.name}@small.json").is_file()
    else:  # a new task version before its baselines ran: the placeholder says so
        assert "no submissions yet" in (ROOT / card.task / "README.md").read_text()


@pytest.mark.parametrize("task", BOARDS)
def test_committed_records_configs_are_the_installed_methods(task):
    # `bench leaderboard verify` rebuilds a cell from its record's config, which must
    # round-trip through the installed method's config class: a field added to a
    # reference config (even at a default no record uses) changes every record's config
    # and config_hash, and the committed board no longer reproduces from this code.
    import json

    from bench.config import config_from_dict
    from bench.leaderboard.submission import submission_paths
    from bench.tasks import get_method, get_task

    spec = get_task(task)
    paths = submission_paths(ROOT, task)
    assert paths
    for path in paths:  # read raw: load_submissions' checks take a minute here
        for record in json.loads(path.read_text())["records"]:
            method = get_method(task, record["method"])
            what = f"{task}/{record['method']}/eps={record['epsilon']}/seed={record['seed']}"
            config_from_dict(method.configs[record["profile"]], record["config"], what)
            config_from_dict(spec.settings[record["profile"]], record["protocol"], what)
