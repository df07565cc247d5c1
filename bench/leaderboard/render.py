"""Rendering boards from their submissions, and checking that committed boards are current.

Rendering is a pure function of the submission files: the Markdown board and its
privacy-utility plot (or one self-contained HTML page) are rebuilt from scratch, and
unchanged submissions give identical bytes. :func:`stale_files` re-renders in memory and
compares with what is on disk; it is the CI gate that fails an out-of-date board.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import tempfile
from pathlib import Path

from bench.errors import BenchError
from bench.leaderboard import HTML_FILE, SUBMISSIONS, task_root
from bench.leaderboard.board import PLOT, board_blocks
from bench.leaderboard.formats import strip_png_text, to_html, to_markdown
from bench.leaderboard.ranking import board_frame
from bench.leaderboard.rules import rules_for
from bench.leaderboard.submission import Submission, load_submissions
from bench.tasks import get_task
from bench.tasks.base import TaskSpec

FORMATS = ("markdown", "html")
MARKDOWN_FILE = "README.md"
# Matplotlib wheels pin their FreeType, so one matplotlib version draws identical pixels
# everywhere; across versions anti-aliasing may move a little. The Markdown board carries
# a digest of the plot's inputs and is compared byte for byte, so a tolerance on the
# picture loses nothing: RMS difference on the 0-255 scale.
PNG_RMS_TOLERANCE = 2.0
_DATA_URI = re.compile(rb"data:image/png;base64,[A-Za-z0-9+/=]+")


def board_tasks(root: Path) -> list[str]:
    """Tasks with a board under ``root`` (folders holding ``submissions/``), sorted."""
    if not root.is_dir():
        raise BenchError(f"no leaderboards folder at {root}")
    return sorted(p.name for p in root.iterdir() if (p / SUBMISSIONS).is_dir())


def board_files(task: TaskSpec, submissions: list[Submission], fmt: str) -> dict[str, bytes]:
    """The files of a board, name -> bytes (``README.md`` + plot, or ``index.html``)."""
    frame = board_frame(submissions, task)
    blocks = board_blocks(task, submissions, frame, rules_for(task), digest(submissions))
    png = plot_png(task, frame)
    if fmt == "markdown":
        return {MARKDOWN_FILE: to_markdown(blocks).encode("utf-8"), PLOT: png}
    if fmt == "html":
        title = f"Leaderboard: {task.name} v{task.version}"
        return {HTML_FILE: to_html(blocks, {PLOT: png}, title).encode("utf-8")}
    raise BenchError(f"unknown format {fmt!r} (known: {', '.join(FORMATS)})")


def render_task(root: Path, task_name: str, fmt: str = "markdown", out: Path | None = None):
    """Render one board from ``root``'s submissions into ``out`` (default: ``root``).

    Returns:
        The paths written.
    """
    task = get_task(task_name)
    submissions = load_submissions(root, task.name)
    if not submissions:
        raise BenchError(f"no submissions for {task.name} in {task_root(root, task.name)}")
    folder = task_root(out if out is not None else root, task.name)
    paths = []
    for name, data in board_files(task, submissions, fmt).items():
        write_bytes_atomic(folder / name, data)
        paths.append(folder / name)
    return paths


def stale_files(root: Path, task_name: str) -> list[str]:
    """Board files that differ from a fresh render (missing ones included)."""
    task = get_task(task_name)
    submissions = load_submissions(root, task.name)
    folder = task_root(root, task.name)
    fresh = board_files(task, submissions, "markdown") if submissions else {}
    if submissions and (folder / HTML_FILE).exists():
        fresh.update(board_files(task, submissions, "html"))
    return [
        str(folder / name)
        for name, data in fresh.items()
        if not (folder / name).is_file() or not same_file(name, (folder / name).read_bytes(), data)
    ]


def same_file(name: str, old: bytes, new: bytes) -> bool:
    """Byte equality; a picture within the RMS tolerance; HTML compared without its picture."""
    if old == new:
        return True
    if name.endswith(".png"):
        return png_rms(old, new) <= PNG_RMS_TOLERANCE
    if name.endswith(".html"):
        return _DATA_URI.sub(b"", old) == _DATA_URI.sub(b"", new)
    return False


def png_rms(a: bytes, b: bytes) -> float:
    """RMS pixel difference of two PNGs on the 0-255 scale (inf when the sizes differ)."""
    import matplotlib.image as mpimg
    import numpy as np

    x, y = (mpimg.imread(io.BytesIO(data), format="png") for data in (a, b))
    if x.shape != y.shape:
        return float("inf")
    return float(np.sqrt(np.mean((255.0 * (x - y)) ** 2)))


def plot_png(task: TaskSpec, frame) -> bytes:
    """The privacy-utility plot of every submission (the suite's own plot, reproducible)."""
    import matplotlib

    matplotlib.use("Agg")
    from bench.plots import plot_summary

    buffer = io.BytesIO()
    plot_summary(task, frame, buffer)
    return strip_png_text(buffer.getvalue())


def digest(submissions: list[Submission]) -> str:
    """A short sha256 of the submission files (names and bytes), shown on the board."""
    sha = hashlib.sha256()
    for sub in sorted(submissions, key=lambda s: s.path.name):
        sha.update(sub.path.name.encode() + b"\0" + sub.path.read_bytes() + b"\0")
    return sha.hexdigest()[:16]


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to a temp file beside ``path``, then rename (never a partial board)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
