"""Argument types shared by the subcommands."""

from __future__ import annotations

import argparse
from pathlib import Path


def path_arg(text: str) -> Path:
    """A path flag's value; an empty one is refused (``Path('')`` would mean the current
    folder, so ``--out ''`` would scatter records there)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("an empty path is not a folder or file name")
    return Path(text)
