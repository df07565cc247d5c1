"""What a submission must contain to enter a task's board, and how exactly epsilon must agree.

The rules derive from the task declaration, so a new task gets a board without a new
rule: the task's whole default epsilon grid (non-private baseline included), at least
three seeds per epsilon, and a ``small`` or ``paper`` run. ``smoke`` runs check the
pipeline only; they are accepted solely on a board explicitly opened to them (CI and
tests) and are never ranked beside real runs.

Example:
    >>> from bench.tasks import get_task
    >>> rules = rules_for(get_task("recon-attack"))
    >>> rules.grid_text(), rules.min_seeds, rules.profiles
    ('1, 3, 10, 30, 100, inf', 3, ('small', 'paper'))
    >>> epsilon_agrees(2.99, 2.99, "rdp"), epsilon_agrees(2.99, 2.98, "prv")
    (True, False)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from bench.privacy.budget import format_epsilon
from bench.tasks.base import TaskSpec

MIN_SEEDS = 3
MAIN_PROFILES = ("small", "paper")
SMOKE_PROFILE = "smoke"

# The recorded epsilon was read from an opacus accountant fed the same (sigma, q, T), so
# recomputing it agrees exactly on one machine (checked on every baseline). RDP is
# closed-form up to floating point: a relative 1e-6. PRV discretises the privacy-loss
# distribution and convolves it by FFT, which may differ in the last digits across numpy
# builds: an absolute 1e-3 on top. A 1% change of sigma moves epsilon by more than that
# across the grid, so a doctored sigma is still caught.
RELATIVE_TOLERANCE = 1e-6
PRV_ABSOLUTE_TOLERANCE = 1e-3


@dataclass(frozen=True)
class BoardRules:
    """The requirements of one task's board.

    Attributes:
        epsilons: every epsilon that must be present (``inf`` = non-private baseline).
        min_seeds: distinct seeds required at every epsilon.
        profiles: profiles that enter the main board.
    """

    epsilons: tuple[float, ...]
    min_seeds: int = MIN_SEEDS
    profiles: tuple[str, ...] = MAIN_PROFILES

    def grid_text(self) -> str:
        return ", ".join(format_epsilon(e) for e in self.epsilons)

    def describe(self) -> str:
        """The rules in one sentence, as stated on the board."""
        return (
            f"Every epsilon of {self.grid_text()} with at least {self.min_seeds} seeds each, "
            f"from a {' or '.join(f'`{p}`' for p in self.profiles)} profile run"
        )


def rules_for(task: TaskSpec) -> BoardRules:
    """The main-board rules of ``task``."""
    return BoardRules(epsilons=tuple(task.default_eps))


def epsilon_tolerance(accountant: str, epsilon: float) -> float:
    """How far a recomputed epsilon may lie from the recorded one."""
    relative = RELATIVE_TOLERANCE * max(1.0, abs(epsilon))
    return relative + (PRV_ABSOLUTE_TOLERANCE if accountant == "prv" else 0.0)


def epsilon_agrees(recorded: float, recomputed: float, accountant: str) -> bool:
    """True when ``recomputed`` matches ``recorded`` within the accountant's tolerance."""
    if not (math.isfinite(recorded) and math.isfinite(recomputed)):
        return False
    return abs(recorded - recomputed) <= epsilon_tolerance(accountant, recorded)
