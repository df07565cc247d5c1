"""The data column of a board's submissions table, from every form a record names it in."""

from __future__ import annotations

import pytest

from bench.leaderboard.board import _dataset


def test_public_as_a_string():
    record = {"dataset": {"name": "acdc", "public": "phantom-cardiac"}}
    assert _dataset(record) == "acdc (public: phantom-cardiac)"


def test_public_as_a_dict_with_a_name():
    record = {"dataset": {"name": "acdc", "public": {"name": "mnms", "role": "public"}}}
    assert _dataset(record) == "acdc (public: mnms)"


@pytest.mark.parametrize("public", [None, "", {}, {"role": "public"}])
def test_public_missing_or_unnamed(public):
    assert _dataset({"dataset": {"name": "acdc", "public": public}}) == "acdc"


def test_no_public_key():
    assert _dataset({"dataset": {"name": "phantom-mammo"}}) == "phantom-mammo"


@pytest.mark.parametrize("record", [{}, {"dataset": None}, {"dataset": {}}])
def test_dataset_missing(record):
    assert _dataset(record) == "?"


def test_dataset_as_a_string():
    assert _dataset({"dataset": "sunnybrook"}) == "sunnybrook"


def test_a_row_shows_its_audit_and_flags_a_false_claim(tmp_path):
    import json
    from types import SimpleNamespace

    from bench.leaderboard.board import audit_cells

    path = tmp_path / "m@small.json"
    audits = [
        {"method": "m", "target_epsilon": 1.0, "epsilon_lower_bound": 0.58,
         "claimed_epsilon": 0.995, "confidence": 0.95},
        {"method": "m", "target_epsilon": 10.0, "epsilon_lower_bound": 12.0,
         "claimed_epsilon": 9.99, "confidence": 0.95},
        {"method": "other", "target_epsilon": 6.0, "epsilon_lower_bound": 1.0,
         "claimed_epsilon": 6.0, "confidence": 0.95},
    ]  # fmt: skip
    path.with_suffix(".audit.json").write_text("\n".join(json.dumps(a) for a in audits))
    cells = audit_cells(SimpleNamespace(path=path, card=SimpleNamespace(name="m")))
    assert cells == {1.0: "0.58 <= 0.99 (95%)", 10.0: "12.00 > claim 9.99 (95%) FALSE CLAIM"}
    assert audit_cells(SimpleNamespace(path=tmp_path / "x.json", card=None)) == {}


def test_an_audit_beside_a_submission_is_not_loaded_as_one(tmp_path):
    """``<submission>.audit.json`` (one JSON line per epsilon) lies in the submissions
    folder like ``.verify.json``; the board must read it as the row's audit only."""
    import json
    import shutil
    from pathlib import Path

    from bench.leaderboard.board import audit_cells
    from bench.leaderboard.submission import load_submissions

    board = Path(__file__).parents[3] / "leaderboards" / "recon-attack" / "submissions"
    folder = tmp_path / "recon-attack" / "submissions"
    folder.mkdir(parents=True)
    shutil.copy(board / "prior-free@small.json", folder)
    audit = {"method": "prior-free", "target_epsilon": 1.0, "epsilon_lower_bound": 0.2,
             "claimed_epsilon": 0.993, "confidence": 0.95}  # fmt: skip
    lines = json.dumps(audit) + "\n" + json.dumps(audit)  # JSON lines: not one JSON value
    (folder / "prior-free@small.audit.json").write_text(lines)
    (submission,) = load_submissions(tmp_path, "recon-attack")
    assert audit_cells(submission) == {1.0: "0.20 <= 0.99 (95%)"}


def test_a_row_without_an_audit_says_why_when_there_is_nothing_to_audit():
    from bench.leaderboard.board import rank_table
    from bench.leaderboard.ranking import Row
    from bench.tasks import get_task

    def row(label, achieved):
        return Row(label, "small", 1.0, 3, 0.7, 0.01, 0.6, 0.8, achieved=achieved)

    rows = [row("dp", 0.99), row("syn-only", 0.0), row("plain", None), row("audited", 0.99)]
    table = rank_table(rows, get_task("mammo-cls"), set(), {("audited", 1.0): "0.5 <= 0.99"})
    cells = {r[1]: r[-1] for r in table.rows}
    assert cells == {"dp": "not audited", "syn-only": "- (no private training)",
                     "plain": "- (no DP claim)", "audited": "0.5 <= 0.99"}  # fmt: skip
