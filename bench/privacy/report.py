"""The privacy block of a record: what was guaranteed, how it was obtained, and for whom.

Every step that touched private data is listed with its protection; a record whose
achieved epsilon exceeds its target is refused here, before anything is written.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from bench.privacy.accounting import Calibration, other_accountant
from bench.privacy.budget import PrivacyBudget

NEIGHBOURING = "add/remove one record"


@dataclass(frozen=True)
class PrivateStep:
    """One step of a method that read private data, and how it was protected."""

    name: str
    data: str
    protection: str

    def as_dict(self) -> dict[str, str]:
        return {"name": self.name, "data": self.data, "protection": self.protection}


class PrivacyViolation(RuntimeError):
    """An achieved epsilon above its target: the record must not be written."""


def privacy_block(
    calibration: Calibration,
    *,
    achieved_epsilon: float,
    steps_taken: int,
    max_grad_norm: float,
    private_steps: list[PrivateStep],
    unit: str,
    how_obtained: str,
) -> dict[str, Any]:
    """Assemble the privacy block; ``achieved_epsilon`` is read from the accountant.

    Args:
        calibration: the noise calibration the cell used.
        achieved_epsilon: epsilon from the accountant that saw the actual steps.
        steps_taken: DP steps actually taken per protected unit.
        private_steps: every step that read private data.
        unit: the privacy unit (e.g. "one image").
        how_obtained: one sentence on how sigma and the achieved epsilon were obtained.
    """
    budget: PrivacyBudget = calibration.budget
    if budget.is_private and not achieved_epsilon <= budget.epsilon:
        raise PrivacyViolation(
            f"achieved epsilon {achieved_epsilon:.4f} exceeds target {budget.epsilon}"
        )
    return {
        "target_epsilon": _finite_or_none(budget.epsilon),
        "achieved_epsilon": _finite_or_none(achieved_epsilon),
        "delta": budget.delta,
        "noise_multiplier": calibration.sigma,
        "sample_rate": calibration.sample_rate,
        "steps": steps_taken,
        "max_grad_norm": _finite_or_none(max_grad_norm),
        "sampling": "poisson",
        "accountant": budget.accountant,
        "cross_check": {
            "accountant": other_accountant(budget.accountant),
            "epsilon": _finite_or_none(calibration.cross_check_epsilon),
        },
        "neighbouring": NEIGHBOURING,
        "unit": unit,
        "how_obtained": how_obtained,
        "private_data_steps": [step.as_dict() for step in private_steps],
    }


def _finite_or_none(value: float) -> float | None:
    """Strict JSON has no Infinity: the non-private case is ``null``."""
    return value if math.isfinite(value) else None
