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
