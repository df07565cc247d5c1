"""``bench leaderboard verify``: a committed submission re-runs to the same records, and a
submission the installed code does not produce is caught."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pytest

from bench.cli import main

BOARDS = Path(__file__).resolve().parents[3] / "leaderboards"
SUBMISSION = "recon-attack/submissions/prior-free@small.json"


@pytest.fixture
def board(tmp_path):
    """A copy of the recon-attack board (verify writes beside the submission)."""
    shutil.copytree(BOARDS / "recon-attack", tmp_path / "recon-attack")
    for stale in (tmp_path / "recon-attack/submissions").glob("*.verify.json"):
        stale.unlink()
    return tmp_path / SUBMISSION


def _verify(capsys, submission, *flags):
    code = main(["leaderboard", "verify", str(submission), *flags])
    out, _ = capsys.readouterr()
    return code, out


def test_a_committed_submission_is_reproduced_exactly(capsys, board):
    code, out = _verify(capsys, board, "--cells", "1")
    assert code == 0, out
    assert "REPRODUCED (1 of 1" in out and "(exact," in out
    written = json.loads(board.with_name("prior-free@small.verify.json").read_text())
    assert written["reproduced"] is True and written["cells"][0]["comparison"] == "exact"
    assert written["code"]["package"] == "privmedbench"


def test_records_the_installed_code_does_not_make_are_not_reproduced(capsys, board, monkeypatch):
    import bench.runner
    import bench.tasks

    real = bench.tasks.get_method

    class Nudged:  # the same attack, its reconstructions moved a little
        def __init__(self, attack):
            self.attack = attack

        def __getattr__(self, name):
            return getattr(self.attack, name)

        def reconstruct(self, release):
            guess = self.attack.reconstruct(release)
            return guess if guess is None else guess * 1.01

    def other_code(task, name):
        spec = real(task, name)

        def run(ctx, view, ledger):
            return Nudged(spec.run(ctx, view, ledger))

        return dataclasses.replace(spec, run=run)

    monkeypatch.setattr(bench.tasks, "get_method", other_code)
    monkeypatch.setattr(bench.runner, "get_method", other_code)
    code, out = _verify(capsys, board, "--cells", "1")
    assert code == 1 and "NOT REPRODUCED (0 of 1" in out
    assert "DIFFERS" in out and "metrics." in out
    written = json.loads(board.with_name("prior-free@small.verify.json").read_text())
    assert written["reproduced"] is False and written["cells"][0]["differences"]


@pytest.mark.parametrize(
    ("flags", "message"),
    [(("--cells", "0"), "--cells must be at least 1"), (("--tolerance", "nan"), "bad --tolerance")],
)
def test_bad_verify_input_is_one_line(capsys, board, flags, message):
    code = main(["leaderboard", "verify", str(board), *flags])
    _, err = capsys.readouterr()
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1
    assert not board.with_name("prior-free@small.verify.json").exists()
