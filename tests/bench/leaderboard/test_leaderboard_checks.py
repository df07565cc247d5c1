"""The submission checks on real smoke records: what passes, and each reason to reject."""

from __future__ import annotations

import pytest
from leaderboard_helpers import card_data, run_records, smoke_run_dir

from bench.leaderboard.card import parse_card
from bench.leaderboard.checks import SubmissionError, check_submission
from bench.leaderboard.rules import rules_for
from bench.privacy.accounting import epsilon_of_history
from bench.records import record_digest
from bench.tasks import get_task

TASK = get_task("recon-attack")


@pytest.fixture
def card():
    return parse_card(card_data(), "card")


@pytest.fixture
def smoke_records(tmp_path_factory) -> list[dict]:
    return run_records(smoke_run_dir(tmp_path_factory))


def _problems(records, card, allow_smoke=True) -> list[str]:
    # each test edits a record the way a tamperer would, digest redone, so that the check
    # under test must catch it by itself (test_tampering.py: the digest alone)
    for record in records:
        record["digest"] = record_digest(record)
    try:
        check_submission(
            TASK, card, records, rules_for(TASK), source="test", allow_smoke=allow_smoke
        )
    except SubmissionError as exc:
        return exc.problems
    return []


def _cell(records, eps: str, seed: int) -> dict:
    return next(r for r in records if r["epsilon"] == eps and r["seed"] == seed)


def test_a_real_smoke_run_passes(smoke_records, card):
    assert _problems(smoke_records, card) == []


def test_main_board_refuses_smoke(smoke_records, card):
    (problem,) = _problems(smoke_records, card, allow_smoke=False)
    assert "profile 'smoke' is a pipeline check" in problem


def test_an_unprotected_private_step_is_rejected(smoke_records, card):
    record = _cell(smoke_records, "10", 0)
    record["privacy"]["private_data_steps"].append(
        {"name": "normalisation statistics", "data": "private images", "protection": "none"}
    )
    assert _problems(smoke_records, card) == [
        "prior-free/eps=10/seed=0: private-data step 'normalisation statistics' is not protected"
    ]


def test_a_private_record_must_list_its_private_steps(smoke_records, card):
    _cell(smoke_records, "1", 2)["privacy"]["private_data_steps"] = []
    problems = _problems(smoke_records, card)
    assert "prior-free/eps=1/seed=2: lists no private-data steps" in problems[0]
    assert all(p.startswith("prior-free/eps=1/seed=2: ") for p in problems)


def test_a_private_record_needs_clipping(smoke_records, card):
    _cell(smoke_records, "30", 1)["privacy"]["max_grad_norm"] = None
    problems = _problems(smoke_records, card)
    assert "without a per-sample clipping bound" in problems[0]
    assert all(p.startswith("prior-free/eps=30/seed=1: ") for p in problems)


def test_duplicates_mixed_profiles_and_other_deltas_are_named(smoke_records, card):
    smoke_records.append(dict(_cell(smoke_records, "3", 0)))
    _cell(smoke_records, "100", 0)["profile"] = "small"
    _cell(smoke_records, "1", 0)["privacy"]["delta"] = 1e-3
    problems = " | ".join(_problems(smoke_records, card))
    assert "records mix profiles small, smoke" in problems
    assert "eps=3: duplicate seeds [0, 0, 1, 2]" in problems
    assert "prior-free/eps=1/seed=0: delta 0.001 is not the task's 1e-05" in problems


def test_a_composition_of_runs_is_recomputed_from_privacy_runs(smoke_records, card):
    privacy = _cell(smoke_records, "30", 1)["privacy"]
    release = privacy["private_data_steps"][0]
    runs = [(8.0, 0.1, 20), (privacy["noise_multiplier"], 1.0, 1)]  # e.g. a GAN, then the release
    names = ("GAN training", release["name"])  # the last run is the block's top-level mechanism
    privacy["runs"] = [
        {"name": n, "noise_multiplier": s, "sample_rate": q, "steps": t}
        for n, (s, q, t) in zip(names, runs, strict=True)
    ]
    privacy["private_data_steps"].insert(0, {**release, "name": "GAN training"})
    privacy["achieved_epsilon"] = epsilon_of_history(runs, privacy["delta"], "prv")
    assert privacy["achieved_epsilon"] < 30
    assert _problems(smoke_records, card) == []
    privacy["runs"][0]["steps"] = 200  # the recorded epsilon no longer matches
    (problem,) = _problems(smoke_records, card)
    assert "disagrees with" in problem and "recomputed by prv" in problem


def test_a_non_private_record_may_not_claim_an_epsilon(smoke_records, card):
    _cell(smoke_records, "inf", 0)["privacy"]["achieved_epsilon"] = 5.0
    (problem,) = _problems(smoke_records, card)
    assert problem == "prior-free/eps=inf/seed=0: a non-private record states an achieved epsilon"


def test_the_no_private_data_shortcut_is_refused_where_the_ledger_saw_private_access(
    smoke_records, card
):
    # the shortcut (epsilon 0, no step, no private-data step) is accepted for a method
    # that reads no private data at any epsilon: mammo-cls's vit-syn-only (the committed
    # board); an attack on a DP release always reads its targets
    for eps in ("10", "inf"):
        privacy = _cell(smoke_records, eps, 0)["privacy"]
        privacy.update(achieved_epsilon=0.0, steps=0, private_data_steps=[], max_grad_norm=None)
    problems = _problems(smoke_records, card)
    assert (
        "prior-free/eps=10/seed=0: claims it read no private data, but the method's ledger "
        "recorded private access at prior-free/eps=1/seed=0 (attacked DP-SGD release)"
    ) in problems


def test_scoring_on_held_out_test_data_is_not_a_training_step(smoke_records, card):
    steps = _cell(smoke_records, "10", 1)["privacy"]["private_data_steps"]
    steps.append(
        {"name": "evaluation", "data": "held-out private test split", "protection": "none"}
    )
    assert _problems(smoke_records, card) == []
    steps[-1]["data"] = "private training split"  # an "evaluation" that reads training data
    (problem,) = _problems(smoke_records, card)
    assert problem == "prior-free/eps=10/seed=1: private-data step 'evaluation' is not protected"
    steps[-1]["protection"] = ""
    (problem,) = _problems(smoke_records, card)
    assert problem.endswith("private-data step 'evaluation' states no protection")
