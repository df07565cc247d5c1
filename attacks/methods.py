"""Reference attacks of ``recon-attack``, registered through the ``bench.methods`` entry point.

Import-light (no torch): configs and registrations only; each runner is imported on its
first call. A config holds the attack's own hyper-parameters and names the task's threat
model it attacks under (``threat_model``); the threat model's sizes, schedule and
thresholds are the task's protocol (``bench.tasks.recon_attack.api.ThreatModel``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bench.tasks import register_method
from bench.tasks.base import MethodSpec, lazy

TASK = "recon-attack"


@dataclass(frozen=True)
class PriorFreeConfig:
    """The optimal analytic attack (a bias-free linear trap; ``hidden`` inside a larger net)."""

    threat_model: Literal["prior_free", "prior_free_large", "prior_free_dpsgd"] = "prior_free"
    rows: int = 1
    hidden: bool = False


@dataclass(frozen=True)
class IdentificationConfig:
    """The informed adversary: maximum likelihood among the candidates (no hyper-parameters)."""

    threat_model: Literal["informed"] = "informed"


@dataclass(frozen=True)
class InvertingGradientsConfig:
    """Geiping et al.'s attack: cosine gradient matching + total variation, with restarts."""

    threat_model: Literal["gradient_matching"] = "gradient_matching"
    iterations: int = 200
    restarts: int = 2
    tv_weight: float = 1e-2
    lr: float = 0.1


def _same(config) -> dict:
    return {"smoke": config, "small": config, "paper": config}


_METHODS = (
    (
        "prior-free",
        "optimal prior-free attack: bias-free linear trap, batch size 1 (Riess et al.)",
        _same(PriorFreeConfig()),
        "attacks.prior_free:run",
    ),
    (
        "prior-free-hidden",
        "the same trap hidden inside a larger trainable network",
        _same(PriorFreeConfig(threat_model="prior_free_large", hidden=True)),
        "attacks.prior_free:run",
    ),
    (
        "prior-free-dpsgd",
        "prior-free attack over a DP-SGD schedule (q < 1, T > 1): K ~ Bin(T, q) "
        "observations of the target",
        _same(PriorFreeConfig(threat_model="prior_free_dpsgd")),
        "attacks.prior_free:run",
    ),
    (
        "identification",
        "informed adversary picking the target among n candidates by likelihood (ReRo)",
        _same(IdentificationConfig()),
        "attacks.identification:run",
    ),
    (
        "inverting-gradients",
        "optimisation-based attack (cosine loss + total variation, restarts) on a CNN",
        {
            "smoke": InvertingGradientsConfig(iterations=40, restarts=1),
            "small": InvertingGradientsConfig(iterations=150, restarts=2),
            "paper": InvertingGradientsConfig(iterations=1000, restarts=4),
        },
        "attacks.inverting_gradients:run",
    ),
)

for _name, _description, _configs, _runner in _METHODS:
    register_method(MethodSpec(TASK, _name, _description, _configs, lazy(_runner)))
