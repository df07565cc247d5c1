import enum
from dataclasses import dataclass, field
from typing import Literal

import pytest

from bench.config import apply_overrides, check_profile, config_to_dict, override_keys
from bench.errors import BenchError


class Speed(enum.Enum):
    FAST = "fast"
    SLOW = "slow"


@dataclass(frozen=True)
class Inner:
    epochs: int = 2
    widths: tuple[int, ...] = (4, 8)


@dataclass(frozen=True)
class Middle:
    lr: float = 1e-3
    inner: Inner = field(default_factory=Inner)


@dataclass(frozen=True)
class Checked:
    even: int = 2

    def __post_init__(self) -> None:
        if self.even % 2:
            raise ValueError(f"even must be even, got {self.even}")


@dataclass(frozen=True)
class Cfg:
    trials: int = 10
    rate: float = 0.5
    hidden: bool = False
    mode: Literal["a", "b"] = "a"
    sizes: tuple[int, ...] = (1, 2)
    volume: tuple[int, int, int] = (4, 16, 16)
    pair: tuple[int, float] = (1, 0.5)
    flags: tuple[bool, ...] = (True,)
    speed: Speed = Speed.FAST
    name: str = "x"
    limit: int | None = None
    middle: Middle = field(default_factory=Middle)
    checked: Checked = field(default_factory=Checked)


def test_overrides_parse_types():
    cfg = apply_overrides(
        Cfg(),
        {
            "trials": "3",
            "rate": "0.25",
            "hidden": "true",
            "mode": "b",
            "speed": "slow",
            "name": "hello world",
            "limit": "7",
        },
    )
    assert cfg == Cfg(
        trials=3, rate=0.25, hidden=True, mode="b", speed=Speed.SLOW, name="hello world", limit=7
    )
    assert isinstance(cfg.trials, int) and isinstance(cfg.rate, float)


def test_bools_and_floats():
    assert apply_overrides(Cfg(hidden=True), {"hidden": "False"}).hidden is False
    assert apply_overrides(Cfg(), {"rate": "inf"}).rate == float("inf")
    assert apply_overrides(Cfg(), {"rate": "1e-5"}).rate == 1e-5
    assert apply_overrides(Cfg(limit=3), {"limit": "none"}).limit is None


def test_enum_by_name():
    assert apply_overrides(Cfg(), {"speed": "SLOW"}).speed is Speed.SLOW


@pytest.mark.parametrize("text", ["8,32,32", "(8,32,32)", "[8, 32, 32]", " 8 , 32 , 32 "])
def test_tuple_forms(text):
    assert apply_overrides(Cfg(), {"volume": text}).volume == (8, 32, 32)


def test_variadic_and_mixed_tuples():
    cfg = apply_overrides(Cfg(), {"sizes": "5", "pair": "(2, 0.75)", "flags": "true,false,true"})
    assert cfg.sizes == (5,) and cfg.pair == (2, 0.75) and cfg.flags == (True, False, True)
    assert apply_overrides(Cfg(), {"sizes": "()"}).sizes == ()
    assert apply_overrides(Cfg(), {"sizes": "(3,)"}).sizes == (3,)


def test_nested_dotted_keys_any_depth():
    cfg = apply_overrides(
        Cfg(), {"middle.lr": "0.1", "middle.inner.epochs": "7", "middle.inner.widths": "1,2,3"}
    )
    assert cfg.middle == Middle(lr=0.1, inner=Inner(epochs=7, widths=(1, 2, 3)))
    assert cfg.trials == Cfg().trials  # the rest untouched


def test_override_keys_lists_every_leaf():
    keys = override_keys(Cfg())
    assert keys[:2] == ["trials", "rate"]
    assert {"middle.lr", "middle.inner.epochs", "middle.inner.widths", "checked.even"} <= set(keys)
    assert "middle" not in keys and "middle.inner" not in keys
    for key in keys:  # every listed key is settable (to its own current value's text)
        apply_overrides(Cfg(), {key: _text(Cfg(), key)})


def _text(config, key):
    for part in key.split("."):
        config = getattr(config, part)
    if isinstance(config, enum.Enum):
        return config.value
    if isinstance(config, tuple):
        return ",".join(str(v) for v in config)
    return "none" if config is None else str(config)


@pytest.mark.parametrize(
    ("key", "value", "match"),
    [
        ("trails", "3", "unknown Cfg setting 'trails'; did you mean 'trials'"),
        ("trials", "x", "setting 'trials' expects an int, got 'x'"),
        ("trials", "1.5", "expects an int"),
        ("rate", "nan", "setting 'rate' expects a float \\(not nan\\), got 'nan'"),
        ("rate", "fast", "expects a float"),
        ("mode", "c", "setting 'mode' expects one of 'a', 'b', got 'c'"),
        ("speed", "medium", "setting 'speed' expects one of 'fast', 'slow'"),
        ("hidden", "maybe", "setting 'hidden' expects a bool \\(true or false\\)"),
        ("volume", "8,32", "setting 'volume' expects a tuple of 3 ints, got '8,32'"),
        ("volume", "8,32,32,4", "expects a tuple of 3 ints"),
        ("volume", "8,x,32", "expects a tuple of 3 ints"),
        ("pair", "1", "expects a tuple of 2 \\(an int, a float\\)"),
        ("sizes", "1,nan", "expects a tuple of ints"),
        ("limit", "x", "expects an int or none"),
        ("middle.inner.epocs", "3", "did you mean 'middle.inner.epochs'"),
        ("midle.lr", "3", "did you mean 'middle.lr'"),
        ("trials.x", "3", "unknown Cfg setting 'trials.x'"),
        ("middle.inner.epochs", "x", "setting 'middle.inner.epochs' expects an int"),
        ("checked.even", "3", "setting 'checked.even'='3' is invalid: even must be even"),
    ],
)
def test_bad_overrides_are_rejected(key, value, match):
    with pytest.raises(BenchError, match=match) as err:
        apply_overrides(Cfg(), {key: value})
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("key", ["middle", "middle.inner"])
def test_whole_nested_config_is_refused(key):
    with pytest.raises(BenchError, match=f"setting '{key}' is a group of settings") as err:
        apply_overrides(Cfg(), {key: "x"})
    assert f"dotted keys: {key}." in str(err.value)
    assert "\n" not in str(err.value)
    assert "middle.inner.epochs" in str(err.value)


def test_config_to_dict_is_json_ready():
    assert config_to_dict(Cfg())["sizes"] == [1, 2]


def test_unknown_profile():
    with pytest.raises(BenchError, match="unknown profile 'big'"):
        check_profile("big")
