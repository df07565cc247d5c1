import pytest

from bench.errors import UnknownNameError
from bench.registry import Registry


def test_duplicate_registration_raises():
    reg = Registry("thing")
    reg.add("a", 1)
    with pytest.raises(ValueError, match="already registered"):
        reg.add("a", 2)


def test_unknown_name_suggests_closest():
    reg = Registry("task")
    for name in ("cardiac-ldm", "mammo-cls", "recon-attack"):
        reg.add(name, name)
    with pytest.raises(UnknownNameError, match="did you mean 'mammo-cls'"):
        reg.get("mamo-cls")
    with pytest.raises(UnknownNameError, match="unknown task 'zzz' \\(known"):
        reg.get("zzz")


def test_names_sorted_and_membership():
    reg = Registry("x")
    reg.add("b", 1)
    reg.add("a", 2)
    assert reg.names() == ["a", "b"] and "a" in reg and len(reg) == 2
