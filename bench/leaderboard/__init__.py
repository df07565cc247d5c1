"""Leaderboards: method submissions, their validation, and the rendered boards.

A board is a pure function of its submissions. ``leaderboards/<task>/`` holds
``submissions/<method>@<profile>.json`` (a method card plus the method's records for one
task version, written by :func:`bench.leaderboard.submission.submit`) and the generated
``README.md`` and ``privacy_utility.png`` (:mod:`bench.leaderboard.render`), which are
never hand-edited.

This package is light to import (no torch, numpy or pandas); its modules import their
heavy dependencies where they need them.

Example:
    >>> check_method_name("dp-vit-real+syn")
    'dp-vit-real+syn'
    >>> check_method_name("../x")
    Traceback (most recent call last):
    ...
    bench.errors.BenchError: bad method name '../x': use lower-case letters, digits and + . _ - ...
"""

from __future__ import annotations

import re
from pathlib import Path

from bench.errors import BenchError

DEFAULT_ROOT = Path("leaderboards")
SUBMISSIONS = "submissions"
BOARD_FILES = ("README.md", "privacy_utility.png")
HTML_FILE = "index.html"
# The name becomes a file name: no separators, no leading dot, so no "..", no hidden
# files and no way out of submissions/.
_METHOD_NAME = re.compile(r"[a-z0-9][a-z0-9+._-]{0,63}")


def check_method_name(name: str) -> str:
    """Return ``name`` if it is a safe method name (it becomes a file name), else raise."""
    if not isinstance(name, str) or not _METHOD_NAME.fullmatch(name) or ".." in name:
        raise BenchError(
            f"bad method name {name!r}: use lower-case letters, digits and + . _ - "
            "(starting with a letter or digit, at most 64 characters, no '..')"
        )
    return name


def task_root(root: Path, task: str) -> Path:
    """The folder of one task's board."""
    return root / task


def submission_path(root: Path, task: str, method: str, profile: str) -> Path:
    """Where the submission of ``method`` at ``profile`` is stored (names are validated)."""
    name = f"{check_method_name(method)}@{profile}.json"
    return task_root(root, task) / SUBMISSIONS / name
