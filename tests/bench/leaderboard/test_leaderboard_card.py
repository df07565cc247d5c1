"""The method card schema: strict fields, safe names, clear errors."""

from __future__ import annotations

import pytest
from leaderboard_helpers import card_data

from bench.errors import BenchError
from bench.leaderboard import check_method_name, submission_path
from bench.leaderboard.card import load_card, parse_card


@pytest.mark.parametrize("name", ["dp-vit-real+syn", "prior-free", "a.b_c", "x1", "3d-ldm"])
def test_good_method_names(name):
    assert check_method_name(name) == name


@pytest.mark.parametrize(
    "name", ["../x", "a/b", "a\\b", ".hidden", "Upper", "a..b", "", "-x", "x" * 65, "a b", "x/"]
)
def test_bad_method_names_never_become_paths(name, tmp_path):
    with pytest.raises(BenchError, match="bad method name"):
        submission_path(tmp_path, "recon-attack", name, "small")


def test_every_bad_field_is_listed_in_one_error():
    data = card_data(authors=[], code_url="javascript:alert(1)", accountant="gdp")
    with pytest.raises(BenchError) as info:
        parse_card(data, "c.yaml")
    message = str(info.value)
    assert message.startswith("invalid method card c.yaml: ")
    for field in ("authors", "code_url", "accountant"):
        assert f"{field}: " in message


def test_a_repository_path_is_a_valid_code_location():
    card = parse_card(card_data(code_url="bench/tasks/recon_attack_cells.py"), "c")
    assert card.code_url == "bench/tasks/recon_attack_cells.py"
    with pytest.raises(BenchError, match="code_url"):
        parse_card(card_data(code_url="../../etc/passwd"), "c")


def test_an_unreadable_card_is_a_clear_error(tmp_path):
    with pytest.raises(BenchError, match="cannot read method card"):
        load_card(tmp_path / "missing.yaml")
    (tmp_path / "bin.yaml").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(BenchError, match="cannot read method card"):
        load_card(tmp_path / "bin.yaml")
