"""Profiles and typed, frozen method configurations with one strict override loader.

A method declares a frozen dataclass of its hyper-parameters and one instance per
profile. Users change single fields with ``--set key=value``; unknown keys and values
of the wrong type are rejected, never ignored.

Example:
    >>> from dataclasses import dataclass
    >>> @dataclass(frozen=True)
    ... class Demo:
    ...     trials: int = 10
    ...     dim: int = 4
    >>> apply_overrides(Demo(), {"trials": "50"})
    Demo(trials=50, dim=4)
    >>> apply_overrides(Demo(), {"trails": "50"})
    Traceback (most recent call last):
    ...
    bench.errors.BenchError: unknown Demo setting 'trails'; did you mean 'trials'? ...)
"""

from __future__ import annotations

import dataclasses
import math
import typing
from typing import Any, Literal, get_args, get_origin

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


def apply_overrides(config: Any, overrides: dict[str, str]) -> Any:
    """A copy of the frozen dataclass ``config`` with fields parsed from strings."""
    hints = typing.get_type_hints(type(config))
    fields = {f.name for f in dataclasses.fields(config)}
    changes = {}
    for key, text in overrides.items():
        if key not in fields:
            kind = f"{type(config).__name__} setting"
            raise BenchError(unknown_name_message(kind, key, sorted(fields)))
        changes[key] = _parse_value(key, text, hints[key])
    return dataclasses.replace(config, **changes)


def _parse_value(key: str, text: str, hint: Any) -> Any:
    """Parse ``text`` as the annotated type ``hint`` (bool, int, float, str or a Literal)."""
    if get_origin(hint) is Literal:
        if text not in get_args(hint):
            raise BenchError(f"setting {key!r} must be one of {get_args(hint)}, got {text!r}")
        return text
    try:
        if hint is bool:
            return {"true": True, "false": False}[text.lower()]
        value = hint(text)
    except (KeyError, ValueError, TypeError):
        raise BenchError(
            f"setting {key!r} expects {getattr(hint, '__name__', hint)}, got {text!r}"
        ) from None
    if isinstance(value, float) and math.isnan(value):
        raise BenchError(f"setting {key!r} must be a number, got {text!r}")
    return value


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
