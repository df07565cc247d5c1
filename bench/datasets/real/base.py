"""What a real-data loader is: an indexer of a local folder and a reader of one item.

A loader finds its items (subjects or patches) without reading pixel data, noting
every file a row or a folder promises but that is missing, then reads items one by
one. A bad file raises :class:`ReadError`, which the driver
(:mod:`bench.datasets.loading`) turns into a reported problem while the other items
go on: corrupt inputs are reported, never crashed on, and never dropped in silence.

Messages name the file and what was expected, never what the file holds: a reader's
own error text often quotes the bytes it choked on (``got b'root:x'``), so only the
error's type and a text that quotes nothing reach a message (:func:`reason`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from bench.datasets.real import paths
from bench.datasets.types import Problem
from bench.errors import DatasetError

_QUOTES = ("'", '"', "\\", "0x")  # a quoted value, an escaped byte, a hex byte


class ReadError(DatasetError):
    """One file that cannot be used, and what was expected of it."""

    def __init__(self, path: Path | str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path, self.message = str(path), message

    def problem(self, subject: str = "") -> Problem:
        suffix = f" ({subject} skipped)" if subject else ""
        return Problem(self.path, self.message + suffix)

    def problems(self, subject: str = "") -> list[Problem]:
        """Every problem this error stands for (one here, several in :class:`ReadErrors`)."""
        return [self.problem(subject)]


class ReadErrors(ReadError):
    """Several files of one item that cannot be used: each is reported, the item skipped."""

    def __init__(self, errors: list[ReadError]) -> None:
        super().__init__(errors[0].path, errors[0].message)
        self.errors = list(errors)

    def problems(self, subject: str = "") -> list[Problem]:
        return [e.problem(subject) for e in self.errors]


def raise_all(errors: list[ReadError]) -> None:
    """Raise the errors of one item together (nothing when there are none)."""
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise ReadErrors(errors)


def read_all(*calls) -> list:
    """``[f(*args) for f, *args in calls]``, raising every :class:`ReadError` together.

    >>> def bad(name):
    ...     raise ReadError(name, "torn")
    >>> read_all((bad, "a.nii"), (bad, "b.nii"))
    Traceback (most recent call last):
    ...
    bench.datasets.real.base.ReadErrors: a.nii: torn
    """
    results, errors = [], []
    for function, *args in calls:
        try:
            results.append(function(*args))
        except ReadError as exc:
            errors.append(exc)
    raise_all(errors)
    return results


def reason(exc: BaseException) -> str:
    """The type of a reader's error and its text when that text quotes nothing of the file.

    >>> reason(ValueError("the magic string is not correct; got b'root:x'"))
    'ValueError'
    >>> reason(EOFError("reading array header, expected 118 bytes got 30"))
    'EOFError: reading array header, expected 118 bytes got 30'
    >>> reason(UnicodeDecodeError("utf-8", b"ab\\xff", 2, 3, "invalid start byte"))
    'not utf-8 text (first bad byte at offset 2)'
    """
    if isinstance(exc, UnicodeDecodeError):
        return f"not {exc.encoding} text (first bad byte at offset {exc.start})"
    if isinstance(exc, OSError) and exc.strerror:
        return f"{type(exc).__name__}: {exc.strerror}"
    text = str(exc)
    safe = text.isprintable() and len(text) <= 160 and not any(q in text for q in _QUOTES)
    return f"{type(exc).__name__}: {text}" if text and safe else type(exc).__name__


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
        """Record ``path`` as a problem unless it exists and may be opened; True when so.

        A file that resolves outside ``--data-root`` may not be opened (see
        :mod:`bench.datasets.real.paths`).
        """
        if not Path(path).is_file():
            self.problems.append(Problem(str(path), f"missing: {what}"))
            return False
        why = paths.outside(path)
        if why is not None:
            self.problems.append(Problem(str(path), f"{what}: {why}"))
            return False
        return True


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
    except UnicodeDecodeError:
        raise ReadError(path, f"expected a UTF-8 CSV file ({_not_utf8(path)})") from None
    except Exception as exc:  # pandas parser errors, OSError, ...
        raise ReadError(path, f"expected a UTF-8 CSV file ({reason(exc)})") from None


def _not_utf8(path: Path) -> str:
    """Where a file stops being UTF-8: its line (pandas' offset is into a buffer)."""
    data = path.read_bytes()
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        return f"line {line} is not UTF-8 text"
    return "not UTF-8 text"


def require_columns(table, path: Path, columns: tuple[str, ...]) -> None:
    """Raise :class:`ReadError` naming the columns ``table`` lacks (not those it has:
    a header row is the file's content)."""
    lacking = [c for c in columns if c not in table.columns]
    if lacking:
        raise ReadError(
            path, f"expected columns {lacking} in its header row ({len(table.columns)} found)"
        )


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
