"""DP-SGD training over opacus: calibrated noise, Poisson sampling, per-sample clipping.

:func:`make_private` is the one way reference models are trained on private data. It
calibrates sigma to the budget for the planned schedule, wraps model, optimizer and
loader with an opacus ``PrivacyEngine`` whose accountant is named explicitly (opacus's
engine and its calibration helper default to different accountants), and reads the
achieved epsilon back from that accountant after training.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from bench.privacy.accounting import Calibration, calibrate, quiet_accountant
from bench.privacy.budget import PrivacyBudget
from bench.privacy.report import PrivateStep, privacy_block


@dataclass
class PrivateTraining:
    """What :func:`make_private` returns: the objects to train with and their accounting.

    For the non-private budget (epsilon = inf) the objects are the originals, unwrapped.
    """

    module: Any
    optimizer: Any
    data_loader: Any
    calibration: Calibration
    max_grad_norm: float
    engine: Any | None

    def achieved_epsilon(self) -> float:
        """Epsilon of the steps actually taken, from the engine's accountant."""
        if self.engine is None:
            return math.inf
        if self.steps_taken() == 0:  # opacus's PRV accountant fails on an empty history
            return 0.0
        with quiet_accountant():
            return float(self.engine.accountant.get_epsilon(delta=self.calibration.budget.delta))

    def steps_taken(self) -> int:
        """DP steps recorded by the accountant (0 before training)."""
        if self.engine is None:
            return 0
        return sum(steps for _, _, steps in self.engine.accountant.history)

    def privacy(self, private_steps: list[PrivateStep], unit: str) -> dict[str, Any]:
        """The record's privacy block for this training run."""
        budget = self.calibration.budget
        how = (
            f"sigma calibrated to the target with opacus {budget.accountant} for the planned "
            f"{self.calibration.steps} steps at q={self.calibration.sample_rate:.6g}; achieved "
            "epsilon read back from the PrivacyEngine's accountant after training"
            if budget.is_private
            else "non-private baseline: no clipping, no noise"
        )
        return privacy_block(
            self.calibration,
            achieved_epsilon=self.achieved_epsilon(),
            steps_taken=self.steps_taken(),
            max_grad_norm=self.max_grad_norm,
            private_steps=private_steps,
            unit=unit,
            how_obtained=how,
        )


def make_private(
    module,
    optimizer,
    data_loader,
    budget: PrivacyBudget,
    *,
    epochs: int,
    max_grad_norm: float,
    grad_sample_mode: str = "hooks",
    generator=None,
) -> PrivateTraining:
    """Prepare DP-SGD training of ``module`` on ``data_loader`` for ``epochs`` epochs.

    Args:
        budget: the target guarantee; epsilon = inf returns the objects unwrapped.
        max_grad_norm: per-sample clipping bound C.
        grad_sample_mode: opacus mode (``hooks``, ``functorch``, ``ew``, ``ghost``).
        generator: torch generator for the Poisson sampler and the noise (reproducibility).
    """
    sample_rate = 1.0 / len(data_loader)  # opacus's Poisson rate: batch_size / dataset size
    steps = epochs * len(data_loader)
    cal = calibrate(budget, sample_rate, steps)
    if not budget.is_private:
        return PrivateTraining(module, optimizer, data_loader, cal, math.inf, None)
    from opacus import PrivacyEngine

    engine = PrivacyEngine(accountant=budget.accountant)
    module, optimizer, data_loader = engine.make_private(
        module=module,
        optimizer=optimizer,
        data_loader=data_loader,
        noise_multiplier=cal.sigma,
        max_grad_norm=max_grad_norm,
        poisson_sampling=True,
        grad_sample_mode=grad_sample_mode,
        noise_generator=generator,
    )
    return PrivateTraining(module, optimizer, data_loader, cal, max_grad_norm, engine)
