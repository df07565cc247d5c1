"""The full cycle through the CLI: run, submit, render, re-render; tampering; bad input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from leaderboard_helpers import card_data, copy_run, edit_record, smoke_run_dir, write_card

from bench.cli import main

pytestmark = pytest.mark.integration


@pytest.fixture
def smoke_run(tmp_path_factory) -> Path:
    return smoke_run_dir(tmp_path_factory)


@pytest.fixture
def run_copy(smoke_run, tmp_path) -> Path:
    return copy_run(smoke_run, tmp_path)


@pytest.fixture
def card_file(tmp_path) -> Path:
    return write_card(tmp_path / "card.yaml")


def _bench(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def _submit(capsys, run_dir, card, root, *extra, smoke=True):
    flags = ("--allow-smoke",) if smoke else ()
    argv = ("leaderboard", "submit", run_dir, "--card", card, "--root", root, *flags, *extra)
    return _bench(capsys, *argv)


def _error(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def _files(folder) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def test_full_cycle_rerender_gives_identical_bytes(capsys, smoke_run, card_file, tmp_path):
    root = tmp_path / "leaderboards"
    code, _, err = _submit(capsys, smoke_run, card_file, root)
    assert code == 0, err
    assert (root / "recon-attack" / "submissions" / "prior-free@smoke.json").is_file()
    board = root / "recon-attack"
    assert _bench(capsys, "leaderboard", "render", "--root", root)[0] == 0
    assert _bench(capsys, "leaderboard", "render", "--root", root, "--format", "html")[0] == 0
    first = _files(board)
    assert set(first) == {"README.md", "privacy_utility.png", "index.html"}
    assert _bench(capsys, "leaderboard", "render", "--root", root)[0] == 0
    assert _bench(capsys, "leaderboard", "render", "--root", root, "--format", "html")[0] == 0
    assert _files(board) == first  # README, PNG and HTML: byte for byte
    assert _bench(capsys, "leaderboard", "check", "--root", root)[0] == 0
    readme = first["README.md"].decode()
    assert "pipeline checks, not part of the main board" in readme
    assert "Bound vs empirical" in readme and "| 1      | prior-free" in readme
    html = first["index.html"].decode()
    assert html.startswith("<!DOCTYPE html>") and "data:image/png;base64," in html


def test_check_fails_on_a_stale_board(capsys, smoke_run, card_file, tmp_path):
    root = tmp_path / "lb"
    args = ("--root", root)
    assert _submit(capsys, smoke_run, card_file, root)[0] == 0
    assert _bench(capsys, "leaderboard", "render", *args)[0] == 0
    readme = root / "recon-attack" / "README.md"
    readme.write_text(readme.read_text() + "hand edit\n")
    code, _, err = _bench(capsys, "leaderboard", "check", *args)
    assert code == 1 and "out of date" in err and "README.md" in err


def test_a_smoke_run_cannot_enter_the_main_board(capsys, smoke_run, card_file, tmp_path):
    root = tmp_path / "lb"
    code, _, err = _submit(capsys, smoke_run, card_file, root, smoke=False)
    assert code == 2 and "profile 'smoke'" in _error(err)
    assert not root.exists()


def _raise_achieved(record):
    record["privacy"]["achieved_epsilon"] = record["privacy"]["target_epsilon"] + 0.5


def _halve_sigma(record):
    record["privacy"]["noise_multiplier"] /= 2


@pytest.mark.parametrize(
    ("tamper", "reason"),
    [
        (("3", 1, _raise_achieved), "prior-free/eps=3/seed=1: achieved epsilon 3.5 exceeds"),
        (("10", 2, _halve_sigma), "prior-free/eps=10/seed=2: recorded achieved epsilon"),
        (("1", 1, None), "eps=1: seeds 0, 2; the board needs at least 3 seeds"),
    ],
    ids=["achieved-raised", "sigma-changed", "record-removed"],
)
def test_a_tampered_run_is_rejected_with_the_reason(
    capsys, run_copy, card_file, tmp_path, tamper, reason
):
    eps, seed, edit = tamper
    if edit is None:
        (run_copy / "recon-attack@v2" / "prior-free" / f"eps={eps}" / f"seed={seed}.json").unlink()
    else:
        edit_record(run_copy, eps, seed, edit)
    root = tmp_path / "lb"
    code, _, err = _submit(capsys, run_copy, card_file, root)
    assert code == 2 and reason in _error(err)
    assert not root.exists()  # nothing written


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        (lambda records: _raise_achieved(records[4]), "prior-free/eps=3/seed=1: achieved"),
        (lambda records: _halve_sigma(records[4]), "prior-free/eps=3/seed=1: recorded achieved"),
        (lambda records: records.pop(4), "eps=3: seeds 0, 2; the board needs at least 3"),
    ],
    ids=["achieved-raised", "sigma-changed", "record-removed"],
)
def test_a_tampered_submission_file_is_rejected_at_render(
    capsys, smoke_run, card_file, tmp_path, edit, reason
):
    root = tmp_path / "lb"
    assert _submit(capsys, smoke_run, card_file, root)[0] == 0
    path = root / "recon-attack" / "submissions" / "prior-free@smoke.json"
    data = json.loads(path.read_text())
    edit(data["records"])  # records are in grid order: [4] is eps=3, seed=1
    path.write_text(json.dumps(data))
    for action in ("render", "check"):
        code, _, err = _bench(capsys, "leaderboard", action, "--root", root)
        assert code == 2 and reason in _error(err)
    assert not (root / "recon-attack" / "README.md").exists()


def test_resubmission_needs_replace(capsys, smoke_run, card_file, tmp_path):
    args = (smoke_run, card_file, tmp_path / "lb")
    assert _submit(capsys, *args)[0] == 0
    code, _, err = _submit(capsys, *args)
    assert code == 2 and "--replace" in _error(err)
    assert _submit(capsys, *args, "--replace")[0] == 0


@pytest.mark.parametrize(
    ("text", "suffix", "reason"),
    [
        ("name: [unclosed\n", ".yaml", "is not valid YAML at line"),
        ('{"name": "prior-free",', ".json", "is not valid JSON"),
        ("- a\n- list\n", ".yaml", "expected a mapping of fields"),
    ],
    ids=["yaml", "json", "not-a-mapping"],
)
def test_a_malformed_card_is_one_clear_error(capsys, smoke_run, tmp_path, text, suffix, reason):
    card = tmp_path / f"card{suffix}"
    card.write_text(text)
    code, _, err = _submit(capsys, smoke_run, card, tmp_path / "lb")
    assert code == 2 and reason in _error(err)
    assert not (tmp_path / "lb").exists()


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"task": "recon-atack"}, "unknown task 'recon-atack'; did you mean 'recon-attack'?"),
        ({"name": "../x"}, "name: Value error, bad method name '../x'"),
        ({"name": "a/b"}, "bad method name 'a/b'"),
        ({"authors": None}, "authors: Field required"),
        ({"acountant": "prv"}, "acountant: Extra inputs are not permitted"),
        (
            {"privacy_unit": "one patient"},
            "privacy unit 'one image' is not the card's 'one patient'",
        ),
        ({"accountant": "rdp"}, "accountant 'prv' is not the card's 'rdp'"),
        ({"name": "identification"}, "no records of method 'identification'"),
    ],
)
def test_bad_cards_are_rejected_and_nothing_is_written(
    capsys, smoke_run, tmp_path, changes, reason
):
    card = tmp_path / "card.json"
    card.write_text(json.dumps(card_data(**changes)))
    root = tmp_path / "lb"
    code, _, err = _submit(capsys, smoke_run, card, root)
    assert code == 2 and reason in _error(err)
    assert not root.exists()


def test_another_task_version_is_refused(capsys, run_copy, card_file, tmp_path):
    shutil.move(run_copy / "recon-attack@v2", run_copy / "recon-attack@v3")
    code, _, err = _submit(capsys, run_copy, card_file, tmp_path / "lb")
    assert code == 2 and "recon-attack@v3, not recon-attack@v2" in _error(err)


def test_a_record_of_another_version_inside_the_folder_is_refused(
    capsys, run_copy, card_file, tmp_path
):
    edit_record(run_copy, "inf", 0, lambda r: r.update(task_version=3))
    code, _, err = _submit(capsys, run_copy, card_file, tmp_path / "lb")
    assert code == 2 and "prior-free/eps=inf/seed=0: is recon-attack v3" in _error(err)


def test_render_of_an_unknown_task_or_empty_board_is_a_clear_error(capsys, tmp_path):
    code, _, err = _bench(capsys, "leaderboard", "render", "--task", "nope", "--root", tmp_path)
    assert code == 2 and "unknown task 'nope'" in _error(err)
    code, _, err = _bench(
        capsys, "leaderboard", "render", "--task", "recon-attack", "--root", tmp_path
    )
    assert code == 2 and "no submissions for recon-attack" in _error(err)


def test_the_card_may_be_yaml_with_comments(capsys, smoke_run, tmp_path):
    card = tmp_path / "card.yml"
    card.write_text("# my method\n" + yaml.safe_dump(card_data()))
    code, out, _ = _submit(capsys, smoke_run, card, tmp_path / "lb")
    assert code == 0 and "prior-free@smoke.json" in out
