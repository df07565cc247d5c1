"""What a ``privacy-audit`` method sees and returns: the task's public method API.

A method receives an :class:`AuditView` -- the private training split behind the ledger,
records ``(images float32 (n, H, W) in [0, 1], labels int64)`` -- trains on it through
``ledger.train`` and returns any artifact (its model): the task scores the method's
privacy, not its utility.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bench.privacy.ledger import PrivateData


@dataclass(frozen=True)
class AuditView:
    """Everything a ``privacy-audit`` method may see."""

    train: PrivateData
    image_size: int
