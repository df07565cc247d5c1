"""What a real-data loader is: an indexer of a local folder and a reader of one item.

A loader finds its items (subjects or patches) without reading pixel data, noting
every file a row or a folder promises but that is missing, then reads items one by
one. A bad file raises :class:`ReadError`, which the driver
(:mod:`bench.datasets.loading`) turns into a reported problem while the other items
go on: corrupt inputs are reported, never crashed on, and never dropped in silence.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from bench.datasets.types import Problem
from bench.errors import DatasetError


class ReadError(DatasetError):
    """One file that cannot be used, and what was expected of it."""

    def __init__(self, path: Path | str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path, self.message = str(path), message

    def problem(self, subject: str = "") -> Problem:
        suffix = f" ({subject} skipped)" if subject else ""
        return Problem(self.path, self.message + suffix)


@dataclass(frozen=True)
class Item:
    """A unit the reader handles at once: a subject (cardiac) or a patch (mammo).

    Attributes:
        key: unique id of the item.
        subject: the subject or patient it belongs to.
        files: every file the reader may open (they enter the content hash).
        meta: what the index learnt about it (frame numbers, label, ...).
    """

    key: str
    subject: str
    files: tuple[Path, ...]
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class Index:
    """The items of a local copy, the metadata files read, and the problems met."""

    items: list[Item] = field(default_factory=list)
    metadata: list[Path] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def missing(self, path: Path, what: str) -> bool:
        """Record ``path`` as a problem unless it exists; True when it exists."""
        if Path(path).is_file():
            return True
        self.problems.append(Problem(str(path), f"missing: {what}"))
        return False


@dataclass(frozen=True)
class CardiacSample:
    """One preprocessed frame: image and mask (D, H, W), 14 attributes."""

    image: np.ndarray
    mask: np.ndarray
    attributes: np.ndarray
    slice_mm: float
    subject: str
    has_mask: bool


@dataclass(frozen=True)
class MammoSample:
    """One preprocessed patch (H, W) and its label (1 = malignant)."""

    image: np.ndarray
    label: int
    subject: str


class Loader(Protocol):
    """The interface of every module's ``LOADER`` object."""

    modality: str
    preprocessing: str

    def index(self, root: Path, split: str) -> Index: ...

    def read(self, item: Item, shape: tuple[int, ...], problems: list[Problem], deep: bool) -> list:
        """The item's samples at ``shape``; raise :class:`ReadError` when it is unusable.

        A bad file the samples do not need goes to ``problems`` instead; ``deep`` (used
        by ``bench data check``) reads every file of the item, not only those needed.
        """


def split_dirs(root: Path, split: str, folders: dict[str, tuple[str, ...]]) -> list[Path]:
    """The folders of ``split`` (``all`` = every split) that exist under ``root``.

    Example:
        >>> split_dirs(Path("/nonexistent"), "all", {"train": ("training",)})
        []
    """
    names = [n for s, group in folders.items() if split in ("all", s) for n in group]
    return [root / name for name in names if (root / name).is_dir()]


def read_table(path: Path, **kwargs):
    """A CSV file as a pandas DataFrame of strings, or :class:`ReadError`."""
    import pandas as pd

    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False, **kwargs)
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise ReadError(path, f"unreadable CSV ({type(exc).__name__}: {exc})") from None


def require_columns(table, path: Path, columns: tuple[str, ...]) -> None:
    """Raise :class:`ReadError` naming the columns ``table`` lacks."""
    lacking = [c for c in columns if c not in table.columns]
    if lacking:
        raise ReadError(path, f"expected columns {lacking}, found {list(table.columns)}")


def to_float(text: str) -> float | None:
    """A number from a metadata cell, or ``None`` when empty or not a number.

    >>> to_float(" 72.5 "), to_float(""), to_float("NaN")
    (72.5, None, None)
    """
    try:
        value = float(str(text).strip())
    except ValueError:
        return None
    return value if np.isfinite(value) else None
