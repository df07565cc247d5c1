"""Which files a loader may open: those that stay inside ``--data-root``.

A local copy can hold symbolic links (a patient folder linked from elsewhere, a PNG
pointing into another tree) and its listings and CSVs can name any path (an absolute
``/etc/passwd``, a ``../../`` escape). A loader opens only files whose *resolved* path
(every link followed) lies inside the resolved root, unless the user says otherwise
(``--follow-links`` on ``bench data check`` and ``bench run``); every other file
becomes a problem naming it, and it is never opened.

The policy is set for the duration of an index (:func:`confined`) by
:mod:`bench.datasets.loading`; ``--follow-links`` reaches the processes of a run
(Slurm jobs included) through the environment variable ``FOLLOW_LINKS_ENV``.
"""

from __future__ import annotations

import contextlib
import os
from contextvars import ContextVar
from pathlib import Path

FOLLOW_LINKS_ENV = "PRIVMEDBENCH_FOLLOW_LINKS"
_POLICY: ContextVar[tuple[Path, bool] | None] = ContextVar("data_root_policy", default=None)


def follow_links_default() -> bool:
    """Whether ``--follow-links`` was given to this run (the environment says so)."""
    return os.environ.get(FOLLOW_LINKS_ENV, "") == "1"


def set_follow_links(enabled: bool) -> None:
    """Make ``enabled`` the default of this process and of the processes it starts."""
    if enabled:
        os.environ[FOLLOW_LINKS_ENV] = "1"
    else:
        os.environ.pop(FOLLOW_LINKS_ENV, None)


@contextlib.contextmanager
def confined(root: Path, follow_links: bool):
    """Within the block, :func:`outside` judges paths against ``root``."""
    token = _POLICY.set((Path(root).resolve(), follow_links))
    try:
        yield
    finally:
        _POLICY.reset(token)


def escape(root: Path, path: Path, follow_links: bool = False) -> str | None:
    """Why ``path`` may not be opened under ``root``, or ``None`` when it may.

    Example:
        >>> escape(Path("/data/acdc"), Path("/data/acdc/../../etc/passwd"))
        'resolves to /etc/passwd, outside --data-root /data/acdc; not opened without --follow-links'
        >>> escape(Path("/data/acdc"), Path("/data/acdc/x.cfg")) is None
        True
    """
    if follow_links:
        return None
    root = Path(root).resolve()
    target = Path(path).resolve()
    if target.is_relative_to(root):
        return None
    return f"resolves to {target}, outside --data-root {root}; not opened without --follow-links"


def outside(path: Path) -> str | None:
    """:func:`escape` under the policy of the enclosing :func:`confined` block, if any."""
    policy = _POLICY.get()
    return None if policy is None else escape(policy[0], path, policy[1])


def policy() -> tuple[Path, bool] | None:
    """(resolved root, follow links) of the enclosing :func:`confined` block."""
    return _POLICY.get()
