"""Profiles and typed, frozen method configurations with one strict override loader.

A method declares a frozen dataclass of its hyper-parameters and one instance per
profile. Users change single fields with ``--set key=value``, and fields of a nested
config with dotted keys (``--set autoencoder.epochs=3``). Every value is parsed by one
pydantic loader from the field's annotation: bool (``true``/``false``), int, float
(never nan), str, Literal, Enum and tuples (``8,32,32``, ``(8,32,32)`` or
``[8,32,32]``). Unknown keys and values of the wrong type are rejected, never ignored.

Example:
    >>> from dataclasses import dataclass, field
    >>> @dataclass(frozen=True)
    ... class Net:
    ...     epochs: int = 2
    ...     channels: tuple[int, ...] = (4, 8)
    >>> @dataclass(frozen=True)
    ... class Demo:
    ...     trials: int = 10
    ...     volume: tuple[int, int, int] = (4, 16, 16)
    ...     net: Net = field(default_factory=Net)
    >>> override_keys(Demo())
    ['trials', 'volume', 'net.epochs', 'net.channels']
    >>> apply_overrides(Demo(), {"trials": "50", "volume": "8,32,32", "net.epochs": "3"})
    Demo(trials=50, volume=(8, 32, 32), net=Net(epochs=3, channels=(4, 8)))
    >>> apply_overrides(Demo(), {"trails": "50"})
    Traceback (most recent call last):
    ...
    bench.errors.BenchError: unknown Demo setting 'trails'; did you mean 'trials'? ...)
    >>> apply_overrides(Demo(), {"volume": "8,32"})
    Traceback (most recent call last):
    ...
    bench.errors.BenchError: setting 'volume' expects a tuple of 3 ints, got '8,32'
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import math
import sys
import types
import typing
from typing import Any, Literal, get_args, get_origin

import pydantic

from bench.errors import BenchError
from bench.registry import unknown_name_message

Profile = Literal["smoke", "small", "paper"]
PROFILES: tuple[str, ...] = get_args(Profile)
PROFILE_HELP = {
    "smoke": "seconds per cell: tests and CI",
    "small": "minutes per cell on a CPU; trends across epsilon are visible (CPU default)",
    "paper": "the seed papers' sizes and schedules, for a GPU (default with CUDA)",
}


def default_profile() -> str:
    """``paper`` when CUDA is available, ``small`` otherwise (imports torch)."""
    import torch

    return "paper" if torch.cuda.is_available() else "small"


def check_profile(name: str) -> str:
    """Return ``name`` if it is a profile, else raise a :class:`BenchError`."""
    if name not in PROFILES:
        raise BenchError(unknown_name_message("profile", name, list(PROFILES)))
    return name


def override_keys(config: Any) -> list[str]:
    """Every key ``--set`` accepts for ``config``: its fields, dotted into nested configs."""
    keys = []
    for f in _fields(config):
        value = getattr(config, f.name)
        if _is_group(value):
            keys += [f"{f.name}.{sub}" for sub in override_keys(value)]
        else:
            keys.append(f.name)
    return keys


def apply_overrides(config: Any, overrides: dict[str, str]) -> Any:
    """A copy of the frozen dataclass ``config`` with (dotted) fields parsed from strings."""
    for key, text in overrides.items():
        config = _set(config, key.split("."), key, text)
    return config


def _set(node: Any, parts: list[str], key: str, text: str) -> Any:
    """A copy of ``node`` with the field path ``parts`` (the tail of ``key``) set."""
    name, rest = parts[0], parts[1:]
    fields = {f.name for f in _fields(node)}
    value = getattr(node, name, None) if name in fields else None
    if name not in fields or (rest and not _is_group(value)):
        prefix = key[: len(key) - len(".".join(parts))]
        known = [prefix + k for k in override_keys(node)]
        raise BenchError(unknown_name_message(f"{type(node).__name__} setting", key, known))
    if rest:
        return _replace(node, name, _set(value, rest, key, text), key, text)
    if _is_group(value):
        subs = ", ".join(f"{key}.{k}" for k in override_keys(value))
        raise BenchError(
            f"setting {key!r} is a group of settings ({type(value).__name__}) and cannot be "
            f"set from a string; set its fields with dotted keys: {subs}"
        )
    hint = _hint(type(node), name)
    return _replace(node, name, parse_value(key, text, hint), key, text)


def _replace(node: Any, name: str, value: Any, key: str, text: str) -> Any:
    """``node`` with ``name`` set; a config that rejects the value raises one line."""
    try:
        return dataclasses.replace(node, **{name: value})
    except (ValueError, TypeError) as err:  # the config's own checks (__post_init__)
        raise BenchError(f"setting {key!r}={text!r} is invalid: {err}") from None


def parse_value(key: str, text: str, hint: Any) -> Any:
    """Parse the ``--set`` string ``text`` as the annotated type ``hint``, or raise one line."""
    try:
        value = _adapter(hint).validate_python(_raw(text.strip(), hint))
    except (pydantic.ValidationError, ValueError, TypeError):
        raise BenchError(f"setting {key!r} expects {describe_type(hint)}, got {text!r}") from None
    if _has_nan(value):
        raise BenchError(f"setting {key!r} expects {describe_type(hint)} (not nan), got {text!r}")
    return value


def describe_type(hint: Any) -> str:
    """The type ``hint`` in words, with its article: 'a tuple of 3 ints', "one of 'a', 'b'"."""
    origin, args = get_origin(hint), get_args(hint)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in args)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return "one of " + ", ".join(repr(m.value) for m in hint)
    if origin in _UNIONS:
        words = [describe_type(a) for a in args if a is not type(None)]
        return " or ".join(words) + (" or none" if type(None) in args else "")
    if origin in _SEQUENCES:
        if origin is tuple and (len(args) != 2 or args[1] is not Ellipsis):
            if args and all(a == args[0] for a in args):
                return f"a tuple of {len(args)} {_plural(args[0])}"
            return f"a tuple of {len(args)} ({', '.join(describe_type(a) for a in args)})"
        element = args[0] if args else Any
        return f"a {origin.__name__} of {_plural(element)} (comma-separated)"
    return _SCALARS.get(hint, f"a {getattr(hint, '__name__', hint)}")


_SCALARS = {
    bool: "a bool (true or false)",
    int: "an int",
    float: "a float",
    str: "a string",
    Any: "a value",
}
_PLURALS = {bool: "bools", int: "ints", float: "floats", str: "strings", Any: "values"}
_SEQUENCES = (tuple, list, frozenset, set)
_UNIONS = (typing.Union, types.UnionType)
_NONE_WORDS = ("none", "null")


def _plural(hint: Any) -> str:
    return _PLURALS.get(hint) or f"values, each {describe_type(hint)}"


def _raw(text: str, hint: Any) -> Any:
    """``text`` shaped for pydantic: a list of strings for a sequence, a member for a Literal."""
    origin, args = get_origin(hint), get_args(hint)
    if origin in _UNIONS:
        if type(None) in args and text.lower() in _NONE_WORDS:
            return None
        sequences = [a for a in args if get_origin(a) in _SEQUENCES]
        return _raw(text, sequences[0]) if len(sequences) == 1 else text
    if origin in _SEQUENCES:
        return _raw_items(text, origin, args)
    if origin is Literal:  # non-string literals (ints, bools) match by their text
        return next((a for a in args if not isinstance(a, str) and str(a) == text), text)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        values = {str(m.value) for m in hint}
        if text not in values and text in hint.__members__:
            return hint.__members__[text]
        return next((m for m in hint if str(m.value) == text), text)
    return text


def _raw_items(text: str, origin: Any, args: tuple) -> list:
    """The items of a sequence written ``a,b``, ``(a,b)`` or ``[a,b]``, each shaped."""
    if text[:1] + text[-1:] in ("()", "[]"):
        text = text[1:-1].strip()
    items = [item.strip() for item in text.split(",")] if text else []
    if len(items) > 1 and items[-1] == "":  # a trailing comma: (8,)
        items.pop()
    if origin is tuple and args and (len(args) != 2 or args[1] is not Ellipsis):
        if len(items) != len(args):
            raise ValueError("wrong number of items")
        return [_raw(item, a) for item, a in zip(items, args, strict=True)]
    element = args[0] if args else Any
    return [_raw(item, element) for item in items]


def _has_nan(value: Any) -> bool:
    if isinstance(value, float):
        return math.isnan(value)
    if isinstance(value, (tuple, list, set, frozenset)):
        return any(_has_nan(v) for v in value)
    return False


@functools.cache
def _adapter(hint: Any) -> pydantic.TypeAdapter:
    return pydantic.TypeAdapter(hint)


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _hint(cls: type, name: str) -> Any:
    """The resolved annotation of the field ``name`` of the dataclass ``cls``."""
    try:
        return _hints(cls)[name]
    except NameError:  # another field names a class local to a function: resolve this one
        annotation = {f.name: f.type for f in dataclasses.fields(cls)}[name]
        if not isinstance(annotation, str):
            return annotation
        module = sys.modules.get(cls.__module__)
        return eval(annotation, dict(vars(module)) if module else {})


def _fields(config: Any) -> list[dataclasses.Field]:
    """The fields of the dataclass ``config`` that its constructor takes."""
    return [f for f in dataclasses.fields(config) if f.init]


def _is_group(value: Any) -> bool:
    """A nested config: set field by field with dotted keys, never from one string."""
    return dataclasses.is_dataclass(value) and not isinstance(value, type)


def config_from_dict(default: Any, data: Any, what: str) -> Any:
    """A config of ``default``'s type holding ``data`` (a record's ``config_to_dict``).

    Every field is validated with its type; ``data`` must round-trip exactly, so a record
    whose config this code cannot represent is refused rather than approximated.
    """
    try:
        config = _adapter(type(default)).validate_python(data)
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "(top)"
        raise BenchError(f"{what}: {where}: {first['msg']}") from None
    if config_to_dict(config) != data:
        raise BenchError(f"{what} does not round-trip through {type(default).__name__}")
    return config


def config_to_dict(config: Any) -> dict[str, Any]:
    """The config as a JSON-ready dict (tuples become lists)."""
    return json_ready(dataclasses.asdict(config))


def json_ready(value: Any) -> Any:
    """Recursively turn tuples into lists so that a dict survives a JSON round trip."""
    if isinstance(value, dict):
        return {k: json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    return value
