"""Tampered submissions are refused with one line naming the problem, and nothing is written.

Each case edits a real run (the session's recon-attack smoke grid, on disk) or a copy of a
committed mammo-cls submission the way a submitter could, then goes through the CLI:
``bench leaderboard submit`` (a run directory) or ``bench leaderboard check`` (a board
folder). Unless the case is about the digest itself, the tamperer redoes the record's
digest and config hash, so that the check under test must catch the edit by itself.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from leaderboard_helpers import METHOD, TASK, copy_run, smoke_run_dir, write_card

from bench.cli import main
from bench.privacy.accounting import epsilon_of_history
from bench.records import config_hash, record_digest

ROOT = Path(__file__).resolve().parents[3] / "leaderboards"
MAMMO = ROOT / "mammo-cls" / "submissions"


@pytest.fixture
def run_dir(tmp_path_factory, tmp_path) -> Path:
    return copy_run(smoke_run_dir(tmp_path_factory), tmp_path)


def _path(run_dir: Path, eps: str, seed: int) -> Path:
    return run_dir / f"{TASK}@v2" / METHOD / f"eps={eps}" / f"seed={seed}.json"


def _read(run_dir: Path, eps: str, seed: int) -> dict:
    return json.loads(_path(run_dir, eps, seed).read_text())


def _write(path: Path, record: dict, *, reseal: bool = True) -> None:
    if reseal:  # the tamperer redoes what can be redone without the protocol's help
        record["config_hash"] = config_hash(
            {"method": record["config"], "protocol": record["protocol"]}
        )
        record["digest"] = record_digest(record)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record))


def _edit(run_dir: Path, eps: str, seed: int, edit, *, reseal: bool = True) -> None:
    record = _read(run_dir, eps, seed)
    edit(record)
    _write(_path(run_dir, eps, seed), record, reseal=reseal)


def _refused_submit(run_dir: Path, tmp_path: Path, capsys, *extra: str) -> str:
    """Submit through the CLI; assert one-line refusal and no file written; return it."""
    card = write_card(tmp_path / "card.yaml")
    root = tmp_path / "boards"
    argv = ["leaderboard", "submit", str(run_dir), "--card", str(card), "--root", str(root)]
    code = main([*argv, "--allow-smoke", *extra])
    err = capsys.readouterr().err.strip()
    assert code != 0 and "\n" not in err and "Traceback" not in err, err
    assert not root.exists() or not any(p.is_file() for p in root.rglob("*")), "a file was written"
    return err


def _refused_check(board: Path, capsys) -> str:
    """``bench leaderboard check`` and ``render`` on a board folder: one line each."""
    before = sorted(p.name for p in board.rglob("*"))
    for action in ("check", "render"):
        code = main(["leaderboard", action, "--root", str(board.parent)])
        err = capsys.readouterr().err.strip()
        assert code != 0 and "\n" not in err and "Traceback" not in err, err
    assert sorted(p.name for p in board.rglob("*")) == before, "render wrote a file"
    return err


# -- a run directory, refused at submit ------------------------------------------------


def test_an_inflated_metric_is_refused(run_dir, tmp_path, capsys):
    _edit(run_dir, "1", 0, lambda r: r["metrics"].update(success_empirical=0.9))
    err = _refused_submit(run_dir, tmp_path, capsys)
    assert "prior-free/eps=1/seed=0: metric success_empirical 0.9 disagrees with" in err
    assert "recomputed from its outputs" in err


def test_a_metric_that_is_not_a_number_is_refused(run_dir, tmp_path, capsys):
    _edit(run_dir, "1", 0, lambda r: r["metrics"].update(success_empirical="high"))
    err = _refused_submit(run_dir, tmp_path, capsys)
    assert "metric success_empirical is 'high', not a number" in err


def test_nan_in_a_record_is_refused(run_dir, tmp_path, capsys):
    path = _path(run_dir, "3", 1)
    text = path.read_text()
    path.write_text(text.replace('"coverage": ', '"coverage": NaN, "x": ', 1))
    err = _refused_submit(run_dir, tmp_path, capsys)
    assert "NaN is not strict JSON" in err


def test_an_edit_without_its_digest_is_refused(run_dir, tmp_path, capsys):
    _edit(run_dir, "10", 2, lambda r: r["environment"].update(device="cuda"), reseal=False)
    err = _refused_submit(run_dir, tmp_path, capsys)
    assert "prior-free/eps=10/seed=2: content digest does not match the record" in err


def test_a_config_that_is_not_its_hash_is_refused(run_dir, tmp_path, capsys):
    def edit(record):
        record["config"]["hidden"] = True
        record["digest"] = record_digest(record)

    _edit(run_dir, "30", 0, edit, reseal=False)
    err = _refused_submit(run_dir, tmp_path, capsys)
    assert "prior-free/eps=30/seed=0: config_hash" in err
    assert "is not the hash of its config and protocol" in err


def test_a_fabricated_seed_is_refused(run_dir, tmp_path, capsys):
    """Seed 0's record relabelled as seed 2 (replacing it)."""
    record = _read(run_dir, "1", 0)
    record["seed"] = 2
    _write(_path(run_dir, "1", 2), record)
    err = _refused_submit(run_dir, tmp_path, capsys)
    assert "prior-free/eps=1/seed=2: outputs are not those of this cell: dataset seed" in err
    assert "has the same data and outputs as seed=0" in err


def test_a_smoke_run_relabelled_small_is_refused(run_dir, tmp_path, capsys):
    """... even when it is to replace the committed baseline (nothing is replaced)."""
    for path in sorted(run_dir.rglob("seed=*.json")):
        record = json.loads(path.read_text())
        record["profile"] = "small"
        _write(path, record)
    board = tmp_path / "boards" / TASK / "submissions"
    board.mkdir(parents=True)
    committed = board / f"{METHOD}@small.json"
    shutil.copy(ROOT / TASK / "submissions" / f"{METHOD}@small.json", committed)
    before = committed.read_bytes()
    card = write_card(tmp_path / "card.yaml")
    argv = ["leaderboard", "submit", str(run_dir), "--card", str(card), "--replace"]
    assert main([*argv, "--root", str(tmp_path / "boards")]) != 0
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "protocol disagrees with recon-attack v2 at profile 'small'" in err
    assert "gradient_matching.image_size 8 (pinned 16)" in err
    assert committed.read_bytes() == before and len(list(board.iterdir())) == 1


def test_the_no_private_data_shortcut_with_non_private_results_is_refused(
    run_dir, tmp_path, capsys
):
    """eps=1 rows that carry the eps=inf results and claim epsilon 0, no step, no access."""
    for seed in (0, 1, 2):
        record = _read(run_dir, "inf", seed)
        record["epsilon"] = "1"
        record["privacy"].update(
            target_epsilon=1.0, achieved_epsilon=0.0, steps=0, max_grad_norm=None
        )
        record["privacy"]["private_data_steps"] = [
            s for s in record["privacy"]["private_data_steps"] if s["name"] == "evaluation"
        ]
        _write(_path(run_dir, "1", seed), record)
    err = _refused_submit(run_dir, tmp_path, capsys)
    assert "prior-free/eps=1/seed=0: claims it read no private data, but the method's " in err


def test_eps3_results_relabelled_eps1_with_a_lowered_sample_rate_are_refused(
    run_dir, tmp_path, capsys
):
    for seed in (0, 1, 2):
        record = _read(run_dir, "3", seed)
        privacy = record["privacy"]
        history = [(privacy["noise_multiplier"], 0.05, privacy["steps"])]
        achieved = epsilon_of_history(history, privacy["delta"], privacy["accountant"])
        assert achieved <= 1.0
        record["epsilon"] = "1"
        privacy.update(target_epsilon=1.0, achieved_epsilon=achieved, sample_rate=0.05)
        _write(_path(run_dir, "1", seed), record)
    err = _refused_submit(run_dir, tmp_path, capsys)
    assert "privacy sample_rate 0.05 is not the q = 1.0 of threat model prior_free" in err


def test_a_config_sample_rate_that_disagrees_with_the_privacy_block_is_refused(
    run_dir, tmp_path, capsys
):
    _edit(run_dir, "10", 1, lambda r: r["config"].update(sample_rate=0.5))
    err = _refused_submit(run_dir, tmp_path, capsys)
    assert (
        "prior-free/eps=10/seed=1: config.sample_rate 0.5 disagrees with the privacy block's "
        "sample_rate 1.0"
    ) in err


def test_an_edited_dataset_hash_is_refused(run_dir, tmp_path, capsys):
    _edit(run_dir, "30", 2, lambda r: r["dataset"].update(content_hash="0" * 16))
    err = _refused_submit(run_dir, tmp_path, capsys)
    assert "prior-free/eps=30/seed=2: dataset content_hash" in err
    assert "which names the same data" in err


def test_a_run_dropped_from_a_composed_budget_is_refused(run_dir, tmp_path, capsys):
    """A GAN run and the release, composed; the GAN run then dropped from ``runs``."""

    def compose_then_drop(record):
        privacy = record["privacy"]
        release = privacy["private_data_steps"][0]
        privacy["private_data_steps"].insert(0, {**release, "name": "GAN training"})
        runs = [
            {"name": "GAN training", "noise_multiplier": 8.0, "sample_rate": 0.1, "steps": 20},
            {
                "name": release["name"],
                "noise_multiplier": privacy["noise_multiplier"],
                "sample_rate": 1.0,
                "steps": 1,
            },
        ]
        privacy["runs"] = runs[1:]  # the GAN's epsilon is no longer composed
        history = [(r["noise_multiplier"], r["sample_rate"], r["steps"]) for r in runs[1:]]
        privacy["achieved_epsilon"] = epsilon_of_history(history, privacy["delta"], "prv")

    _edit(run_dir, "100", 0, compose_then_drop)
    err = _refused_submit(run_dir, tmp_path, capsys)
    assert (
        "prior-free/eps=100/seed=0: composes runs (attacked DP-SGD release) that are not its "
        "DP-SGD private-data steps (GAN training, attacked DP-SGD release)"
    ) in err


def test_outputs_that_are_not_the_protocols_size_are_refused(run_dir, tmp_path, capsys):
    def drop_failures(record):  # keep only the successful trials, and recompute the rate
        keep = [i for i, s in enumerate(record["outputs"]["success"]) if s] or [0]
        for name, values in record["outputs"].items():
            record["outputs"][name] = [values[i] for i in keep]

    _edit(run_dir, "100", 1, drop_failures)
    err = _refused_submit(run_dir, tmp_path, capsys)
    assert "prior-free/eps=100/seed=1: outputs are not those of this cell: outputs hold" in err


# -- a committed submission file, refused at check and render ------------------------


@pytest.fixture
def mammo_board(tmp_path) -> Path:
    """A board folder holding a copy of the committed dp-vit-real submission."""
    board = tmp_path / "boards" / "mammo-cls"
    (board / "submissions").mkdir(parents=True)
    shutil.copy(MAMMO / "dp-vit-real@small.json", board / "submissions")
    return board


def _edit_submission(board: Path, edit) -> None:
    path = next((board / "submissions").glob("*.json"))
    data = json.loads(path.read_text())
    edit(data["records"])
    for record in data["records"]:
        record["digest"] = record_digest(record)
    path.write_text(json.dumps(data))


def test_a_string_metric_in_a_submission_breaks_neither_check_nor_render(mammo_board, capsys):
    _edit_submission(mammo_board, lambda rs: rs[0]["metrics"].update(auroc_internal="high"))
    err = _refused_check(mammo_board, capsys)
    assert "dp-vit-real/eps=1/seed=0: metric auroc_internal is 'high', not a number" in err


def test_nan_in_a_submission_file_is_refused(mammo_board, capsys):
    path = next((mammo_board / "submissions").glob("*.json"))
    path.write_text(
        path.read_text().replace('"auroc_internal": 0.', '"auroc_internal": NaN, "_": 0.', 1)
    )
    err = _refused_check(mammo_board, capsys)
    assert "NaN is not strict JSON" in err


def test_non_private_results_on_the_private_rows_of_a_submission_are_refused(mammo_board, capsys):
    def shortcut(records):
        non_private = {r["seed"]: r for r in records if r["epsilon"] == "inf"}
        for i, record in enumerate(records):
            if record["epsilon"] == "1":
                fake = json.loads(json.dumps(non_private[record["seed"]]))
                fake["epsilon"] = "1"
                fake["privacy"].update(
                    target_epsilon=1.0,
                    achieved_epsilon=0.0,
                    steps=0,
                    sample_rate=0.0,
                    max_grad_norm=None,
                    noise_multiplier=0.0,
                    private_data_steps=fake["privacy"]["private_data_steps"][1:],
                )
                records[i] = fake

    _edit_submission(mammo_board, shortcut)
    err = _refused_check(mammo_board, capsys)
    assert (
        "dp-vit-real/eps=1/seed=0: claims it read no private data, but the method's ledger" in err
    )


def test_a_relabelled_seed_in_a_submission_is_refused(mammo_board, capsys):
    def relabel(records):
        zero = next(r for r in records if r["epsilon"] == "6" and r["seed"] == 0)
        two = next(i for i, r in enumerate(records) if r["epsilon"] == "6" and r["seed"] == 2)
        records[two] = {**json.loads(json.dumps(zero)), "seed": 2}

    _edit_submission(mammo_board, relabel)
    err = _refused_check(mammo_board, capsys)
    assert "dp-vit-real/eps=6/seed=2: metric auroc_internal_ci_low" in err  # its seed's bootstrap
    assert "has the same data and outputs as seed=0" in err


def test_an_edited_protocol_in_a_submission_is_refused(mammo_board, capsys):
    def smaller_test_set(records):
        for record in records:
            record["protocol"]["n_test"] = 64
            record["config_hash"] = config_hash(
                {"method": record["config"], "protocol": record["protocol"]}
            )

    _edit_submission(mammo_board, smaller_test_set)
    err = _refused_check(mammo_board, capsys)
    assert "protocol disagrees with mammo-cls v2 at profile 'small': n_test 64 (pinned 600)" in err


@pytest.fixture
def cardiac_board(tmp_path) -> Path:
    """A board folder holding a copy of the committed dp-ldm-scratch submission."""
    board = tmp_path / "boards" / "cardiac-ldm"
    (board / "submissions").mkdir(parents=True)
    shutil.copy(
        ROOT / "cardiac-ldm" / "submissions" / "dp-ldm-scratch@small.json", board / "submissions"
    )
    return board


def test_an_inflated_controllability_in_a_cardiac_submission_is_refused(cardiac_board, capsys):
    _edit_submission(cardiac_board, lambda rs: rs[0]["metrics"].update(lv_volume_r=0.95))
    err = _refused_check(cardiac_board, capsys)
    assert "metric lv_volume_r 0.95 disagrees with" in err and "recomputed from its outputs" in err


def test_cardiac_outputs_of_another_test_set_size_are_refused(cardiac_board, capsys):
    def drop_a_volume(records):
        records[0]["outputs"]["measured_generated"]["lv_volume"].pop()

    _edit_submission(cardiac_board, drop_a_volume)
    err = _refused_check(cardiac_board, capsys)
    assert "outputs are not those of this cell: measured_generated outputs do not hold" in err


def test_a_whole_board_edited_alike_on_its_data_hash_is_refused(cardiac_board, capsys):
    def rehash(records):
        for record in records:
            record["dataset"]["content_hash"] = "feedfacefeedface"

    _edit_submission(cardiac_board, rehash)
    err = _refused_check(cardiac_board, capsys)
    assert "dataset content_hash feedfacefeedface is not the content the task pins" in err
