"""The built-in data's pinned content hashes: made by the current code, and enforced."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.tasks import get_task
from bench.tasks.pinned_data import PINNED_SEEDS, builtin_blocks, pin_key, pin_problems, pinned

TASKS = ("recon-attack", "mammo-cls", "cardiac-ldm")
BOARDS = Path(__file__).resolve().parents[3] / "leaderboards"


def _regenerated(name: str, profile: str) -> dict:
    task = get_task(name)
    return builtin_blocks(task, profile, task.default_methods, PINNED_SEEDS)


@pytest.mark.parametrize("name", TASKS)
def test_the_smoke_pins_are_what_the_current_code_makes(name):
    assert pinned(get_task(name))["smoke"] == _regenerated(name, "smoke")


@pytest.mark.slow
@pytest.mark.parametrize("name", TASKS)
def test_the_small_pins_are_what_the_current_code_makes(name):
    assert pinned(get_task(name))["small"] == _regenerated(name, "small")


def _committed_record(task: str) -> dict:
    path = sorted((BOARDS / task / "submissions").glob("*@small.json"))[0]
    return json.loads(path.read_text())["records"][0]


@pytest.mark.parametrize("name", TASKS)
def test_every_committed_record_is_on_pinned_data(name):
    for path in sorted((BOARDS / name / "submissions").glob("*@small.json")):
        for record in json.loads(path.read_text())["records"]:
            assert pin_problems(get_task(name), record) == [], path.name


def test_other_content_under_a_pinned_name_is_refused():
    record = _committed_record("cardiac-ldm")
    record["dataset"]["content_hash"] = "0" * 16
    (problem,) = pin_problems(get_task("cardiac-ldm"), record)
    assert problem.startswith("dataset content_hash 0000000000000000 is not the content the task")


def test_built_in_data_the_task_does_not_make_is_refused():
    record = _committed_record("recon-attack")
    record["dataset"]["seed"] += 1  # no cell seed derives it
    (problem,) = pin_problems(get_task("recon-attack"), record)
    assert "is not data that recon-attack v2 makes at profile 'small'" in problem


def test_real_data_and_unpinned_profiles_are_left_to_other_checks():
    record = _committed_record("mammo-cls")
    assert pin_problems(get_task("mammo-cls"), {**record, "profile": "paper"}) == []
    real = {**record, "dataset": {**record["dataset"], "name": "mammo-png"}}
    assert pin_problems(get_task("mammo-cls"), real) == []


def test_a_pin_key_ignores_only_the_content_hash():
    assert pin_key({"b": 1, "a": {"y": 2}, "content_hash": "x"}) == '{"a":{"y":2},"b":1}'
