from dataclasses import dataclass
from typing import Literal

import pytest

from bench.config import apply_overrides, check_profile, config_to_dict
from bench.errors import BenchError


@dataclass(frozen=True)
class Cfg:
    trials: int = 10
    rate: float = 0.5
    hidden: bool = False
    mode: Literal["a", "b"] = "a"
    sizes: tuple[int, ...] = (1, 2)


def test_overrides_parse_types():
    cfg = apply_overrides(Cfg(), {"trials": "3", "rate": "0.25", "hidden": "true", "mode": "b"})
    assert cfg == Cfg(trials=3, rate=0.25, hidden=True, mode="b")


@pytest.mark.parametrize(
    ("key", "value", "match"),
    [
        ("trails", "3", "did you mean 'trials'"),
        ("trials", "x", "expects int"),
        ("rate", "nan", "must be a number"),
        ("mode", "c", "must be one of"),
        ("hidden", "maybe", "expects bool"),
    ],
)
def test_bad_overrides_are_rejected(key, value, match):
    with pytest.raises(BenchError, match=match):
        apply_overrides(Cfg(), {key: value})


def test_config_to_dict_is_json_ready():
    assert config_to_dict(Cfg())["sizes"] == [1, 2]


def test_unknown_profile():
    with pytest.raises(BenchError, match="unknown profile 'big'"):
        check_profile("big")
