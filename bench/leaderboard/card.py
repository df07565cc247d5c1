"""The method card: who made a method, what it protects, and how it deviates.

A card is a YAML (or JSON) mapping validated by a strict pydantic schema: unknown keys
are rejected (a typo must not silently drop a field), and every error names the field.

Example:
    >>> card = parse_card(
    ...     {
    ...         "name": "my-attack",
    ...         "task": "recon-attack",
    ...         "authors": ["A. Author"],
    ...         "description": "a stronger attack",
    ...         "code_url": "https://example.org/my-attack",
    ...         "privacy_unit": "one image",
    ...         "public_data": "none",
    ...         "accountant": "prv",
    ...         "hardware": "2-core CPU",
    ...     },
    ...     "card.yaml",
    ... )
    >>> card.name, card.deviations
    ('my-attack', 'none')
    >>> parse_card({"name": "x"}, "card.yaml")
    Traceback (most recent call last):
    ...
    bench.errors.BenchError: invalid method card card.yaml: task: Field required; ...
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bench.errors import BenchError
from bench.leaderboard import check_method_name

# A code location is a web URL or a path inside this repository (for the baselines).
_CODE = re.compile(r"(https?://\S+|[A-Za-z0-9_][A-Za-z0-9_./-]*)")


_TEXT = Field(min_length=1, max_length=2000)


class MethodCard(BaseModel):
    """What a submission states about its method (the fields: docs/leaderboards.md)."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    name: str
    task: str
    authors: list[str] = Field(min_length=1)
    description: str = _TEXT
    code_url: str
    paper: str | None = None
    privacy_unit: str = _TEXT
    public_data: str = _TEXT
    accountant: Literal["prv", "rdp"]
    hardware: str = _TEXT
    deviations: str = Field(default="none", min_length=1, max_length=2000)
    baseline: bool = False

    @field_validator("name")
    @classmethod
    def _safe_name(cls, value: str) -> str:
        try:
            return check_method_name(value)
        except BenchError as exc:  # pydantic reports ValueErrors per field
            raise ValueError(str(exc)) from None

    @field_validator("code_url")
    @classmethod
    def _code(cls, value: str) -> str:
        if not _CODE.fullmatch(value) or ".." in value:
            raise ValueError("expected an http(s) URL or a path inside this repository")
        return value


def parse_card(data: Any, source: str) -> MethodCard:
    """Validate a parsed card; raise one :class:`BenchError` listing every bad field."""
    if not isinstance(data, dict):
        raise BenchError(f"invalid method card {source}: expected a mapping of fields")
    try:
        return MethodCard.model_validate(data)
    except ValidationError as exc:
        problems = [
            f"{'.'.join(str(p) for p in err['loc']) or 'card'}: {err['msg']}"
            for err in exc.errors()
        ]
        raise BenchError(f"invalid method card {source}: {'; '.join(problems)}") from None


def load_card(path: Path) -> MethodCard:
    """Read a card from ``.yaml``/``.yml`` (YAML) or ``.json`` (strict JSON) and validate it."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BenchError(f"cannot read method card {path}: {exc}") from None
    return parse_card(_parse_text(text, path), str(path))


def _parse_text(text: str, path: Path) -> Any:
    if path.suffix.lower() == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise BenchError(f"method card {path} is not valid JSON: {exc}") from None
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        at = f" at line {where.line + 1}" if where is not None else ""
        reason = getattr(exc, "problem", None) or type(exc).__name__
        raise BenchError(f"method card {path} is not valid YAML{at}: {reason}") from None


def card_dict(card: MethodCard) -> dict[str, Any]:
    """The card as plain JSON data (what a submission file stores)."""
    return card.model_dump(mode="json")
