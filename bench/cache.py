"""The user cache directory (never inside the installed package), its index, atomic files.

Every cache entry (a calibration, a preprocessed dataset, a public checkpoint) is
recorded in the cache's *index* when it is written: ``index/<entry path>.sha256`` holds
the SHA-256 of the entry's bytes, in a folder apart from the entry, keyed by the entry's
path (which is itself a hash of the entry's inputs). A reader calls
:func:`entry_problem` before it trusts an entry: an entry without an index record, or
whose bytes no longer match it (edited, zeroed, truncated, its side-car rewritten), is
discarded with one warning naming the file and rebuilt. This guards against accidents
and casual edits; someone who rewrites the entry *and* its index record is not caught
here (the leaderboard re-runs and audits for that, see docs/leaderboards.md).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

log = logging.getLogger("bench.cache")


def cache_dir(*parts: str) -> Path:
    """``$PRIVMEDBENCH_CACHE``, else ``$XDG_CACHE_HOME/privmedbench``, else ``~/.cache/...``.

    The directory (and ``parts`` below it) is created on demand.
    """
    root = os.environ.get("PRIVMEDBENCH_CACHE")
    if not root:
        xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        root = str(Path(xdg) / "privmedbench")
    path = Path(root, *parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def bytes_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _index_path(entry: Path) -> Path:
    entry = Path(entry).resolve()
    root = cache_dir().resolve()
    if not entry.is_relative_to(root):
        raise ValueError(f"{entry} is not inside the cache {root}")
    relative = entry.relative_to(root)
    return root / "index" / relative.parent / f"{relative.name}.sha256"


def index_entry(entry: Path, sha: str | None = None) -> str:
    """Record the SHA-256 of the cache entry ``entry`` in the index; returns it.

    Call it after the entry has been renamed into place; a writer that hashed the bytes it
    wrote passes ``sha`` and saves reading the file again.
    """
    sha = sha or bytes_sha256(entry)
    index = _index_path(entry)
    index.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=index.parent, prefix=f".{index.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(sha + "\n")
        os.replace(tmp, index)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return sha


def entry_problem(entry: Path) -> str | None:
    """Why the existing cache entry ``entry`` may not be used, or ``None`` if it may.

    The reasons: it has no index record (written by an older version, or its record was
    lost), or its bytes differ from the record (edited, truncated, replaced).
    """
    return _check(entry)[1]


def _check(entry: Path) -> tuple[str | None, str | None]:
    """(the entry's SHA-256, None) when it matches its index record, else (None, why)."""
    index = _index_path(entry)
    try:
        recorded = index.read_text(encoding="utf-8").strip()
    except OSError:
        return None, "it has no record in the cache index"
    try:
        actual = bytes_sha256(entry)
    except OSError as exc:
        return None, f"it cannot be read ({exc.strerror or exc})"
    if actual != recorded:
        return None, "its content differs from the SHA-256 recorded in the cache index"
    return actual, None


def discard_entry(entry: Path, why: str, what: str) -> None:
    """Remove a cache entry that failed its check, saying so once (and its index record)."""
    log.warning("%s %s is not used: %s; rebuilding it", what, entry, why)
    Path(entry).unlink(missing_ok=True)
    with contextlib.suppress(ValueError):  # an entry outside the cache has no record
        _index_path(entry).unlink(missing_ok=True)


def verified_entry(entry: Path, what: str) -> str | None:
    """The SHA-256 of ``entry`` when it exists and matches its index record, else ``None``
    (a miss; a failing entry is discarded). ``what`` names it in the warning (e.g.
    "cached calibration").
    """
    if not Path(entry).exists():
        return None
    sha, why = _check(entry)
    if why is not None:
        discard_entry(entry, why, what)
    return sha


STALE_AFTER_S = 3600.0  # a temp file this old belongs to a writer that was killed


def remove_stale_temp_files(folder: Path, older_than_s: float = STALE_AFTER_S) -> int:
    """Delete the ``.NAME.*.tmp`` files a killed atomic write left below ``folder``.

    Only files older than ``older_than_s`` go: a write in flight (another process of a
    Slurm array, say) lasts milliseconds, so its temp file is never that old. Returns
    how many were removed.
    """
    import time

    if not folder.is_dir():
        return 0
    cutoff, removed = time.time() - older_than_s, 0
    for path in folder.rglob(".*.tmp"):
        try:
            if path.is_file() and path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
        except FileNotFoundError:  # renamed or removed by its writer meanwhile
            continue
    return removed


def write_json_atomic(path: Path, payload: Any) -> None:
    """Write strict JSON (no NaN/Infinity) to a temp file in the same folder, then rename.

    A crash or a kill leaves either the old file or the new one, never a partial file.
    """
    text = json.dumps(payload, indent=2, sort_keys=True, allow_nan=False) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
