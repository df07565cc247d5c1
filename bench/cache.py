"""The user cache directory (never inside the installed package) and atomic JSON files."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any


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
