"""Content hashes of dataset roots, and the user cache of preprocessed arrays.

The record of a run names its data by a content hash of the files the loader read,
so that two runs on different copies (or versions) of a dataset never look alike.
Hashing every byte of a mammography archive (hundreds of GB) on every run is not
affordable, so each file contributes its size and its content: all of it below
512 KiB, else its first, middle and last 256 KiB (a changed header, a truncation or a
re-export changes these). Per-file digests are memoised on (size, mtime) in the user
cache, so a second run only stats the files.

Preprocessed arrays go to ``cache_dir("datasets", NAME)`` (never inside the package),
one ``.npz`` per (dataset, root hash, split, shape, preprocessing version), written to
a temp file and renamed, recorded in the cache index (:mod:`bench.cache`) and read back
with ``allow_pickle=False`` only when its bytes still match that record: an entry that
was edited (zeroed images, flipped labels), truncated or written by an older version is
discarded with one warning and rebuilt by the caller.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from bench.cache import cache_dir, discard_entry, index_entry, verified_entry, write_json_atomic

log = logging.getLogger("bench.datasets")
CHUNK = 256 * 1024


def file_digest(path: Path) -> str:
    """SHA-256 of a file's size and content (sampled above 512 KiB, see the module doc).

    Example:
        >>> import tempfile, pathlib
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "a.txt"
        >>> _ = path.write_text("hello")
        >>> file_digest(path)[:12]
        '8c7efb224725'
    """
    size = path.stat().st_size
    digest = hashlib.sha256(f"{size}\n".encode())
    with open(path, "rb") as handle:
        if size <= 2 * CHUNK:
            digest.update(handle.read())
        else:
            for offset in (0, size // 2 - CHUNK // 2, size - CHUNK):
                handle.seek(offset)
                digest.update(handle.read(CHUNK))
    return digest.hexdigest()


def fingerprint(root: Path, files: Iterable[Path]) -> str:
    """A 16-hex-digit content hash of ``files`` (names relative to ``root``).

    A listed file that does not exist counts as such, so a copy with a missing file
    never hashes like a complete one.

    Example:
        >>> import tempfile, pathlib
        >>> root = pathlib.Path(tempfile.mkdtemp())
        >>> _ = (root / "a.csv").write_text("x,y")
        >>> before = fingerprint(root, [root / "a.csv"])
        >>> _ = (root / "a.csv").write_text("x,y,z")
        >>> len(before), before == fingerprint(root, [root / "a.csv"])
        (16, False)
    """
    root = Path(root).resolve()
    memo_path = cache_dir("datasets", "digests") / f"{_short(str(root))}.json"
    memo = _read_json(memo_path)
    changed = False
    total = hashlib.sha256()
    for path in sorted({Path(f).resolve() for f in files}):
        name = str(path.relative_to(root)) if path.is_relative_to(root) else str(path)
        digest, fresh = _memo_digest(memo, name, path)
        changed |= fresh
        total.update(f"{name}\0{digest}\n".encode())
    if changed:
        write_json_atomic(memo_path, memo)
    return total.hexdigest()[:16]


def _memo_digest(memo: dict, name: str, path: Path) -> tuple[str, bool]:
    """The digest of one file from the memo when its size and mtime are unchanged."""
    try:
        stat = path.stat()
    except OSError:
        return "missing", False
    key = [stat.st_size, stat.st_mtime_ns]
    entry = memo.get(name)
    if entry is not None and entry[:2] == key:
        return entry[2], False
    try:
        digest = file_digest(path)
    except OSError:
        return "unreadable", False
    memo[name] = [*key, digest]
    return digest, True


def cache_key(*parts: object) -> str:
    """A stable key from JSON-serialisable parts.

    >>> cache_key("acdc", "0123", "all", [13, 96, 96], "cardiac-1")[:8]
    '15f3245d'
    """
    return _short(json.dumps(parts, sort_keys=True), 24)


def load_arrays(name: str, key: str) -> dict[str, np.ndarray] | None:
    """The cached arrays of ``key``, or ``None`` on a miss.

    An entry whose bytes differ from its record in the cache index, or that has none,
    is a miss: it is removed with one warning, and the caller rebuilds and re-saves it.
    """
    path = cache_dir("datasets", name) / f"{key}.npz"
    if not verified_entry(path, "cached dataset"):
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    except Exception as exc:  # recorded but unreadable (BadZipFile, ...): rebuild it
        discard_entry(path, f"it cannot be read ({type(exc).__name__})", "cached dataset")
        return None


def save_arrays(name: str, key: str, arrays: dict[str, np.ndarray]) -> Path:
    """Write ``arrays`` for ``key`` atomically (temp file + rename); returns the path."""
    folder = cache_dir("datasets", name)
    path = folder / f"{key}.npz"
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{key}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            np.savez(handle, **arrays)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    index_entry(path)
    return path


def _short(text: str, length: int = 16) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
