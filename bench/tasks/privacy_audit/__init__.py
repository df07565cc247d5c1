"""Task ``privacy-audit``: an empirical epsilon lower bound next to every claim.

A cell (method, epsilon) trains the method once as usual (the record's privacy block is
its claim, from the ledger), then the task audits it: it runs the method's own DP-SGD
code path again ``runs`` times under the auditing ledger (:mod:`bench.audit`), with
white-box Dirac gradient canaries, and records the epsilon lower bounds (the canaries as
independent trials, Clopper-Pearson; and Steinke et al.'s one-run bound) with their
confidence. The methods of this task are a small DP-SGD classifier of mammography mass
patches (``dp-sgd``, honest) and negative controls, ``broken-*``, each deliberately wrong:
see :mod:`controls.methods` and ``docs/privacy-audit.md``. Any method of any task is
audited the same way by ``bench audit``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from bench.metrics import register_metric
from bench.tasks import register_task
from bench.tasks.base import TaskSpec


@dataclass(frozen=True)
class AuditSettings:
    """The protocol of ``privacy-audit`` for one profile (pinned by the task version).

    Attributes:
        image_size, n_train, data_seed: the private phantom mass patches.
        runs, canaries, confidence: audit runs per cell, canaries per run, confidence.
    """

    image_size: int = 16
    n_train: int = 256
    data_seed: int = 0
    runs: int = 30
    canaries: int = 2000
    confidence: float = 0.95


SETTINGS = {
    "smoke": replace(AuditSettings(), n_train=32, runs=1, canaries=64),
    "small": AuditSettings(),
    "paper": replace(AuditSettings(), runs=100),
}

for _name, _up, _text in (
    ("epsilon_lower_bound", True, "audited epsilon lower bound (the larger of the two)"),
    ("epsilon_trials", True, "lower bound from the canaries as independent trials"),
    ("epsilon_one_run", True, "Steinke et al.'s one-run lower bound"),
    ("claimed_epsilon", False, "the epsilon the ledger certified for the method's run"),
    ("lower_bound_over_claim", True, "audited lower bound / claimed epsilon"),
    ("exceeds_claim", False, "1 when the lower bound is above the claim (a false claim)"),
):
    register_metric(_name, _up, _text)

TASK = register_task(
    TaskSpec(
        name="privacy-audit",
        version=1,
        description="empirical epsilon lower bound (white-box canaries) next to the claim",
        primary_metric="epsilon_lower_bound",
        summary_metrics=(
            "claimed_epsilon",
            "epsilon_lower_bound",
            "epsilon_trials",
            "epsilon_one_run",
            "exceeds_claim",
        ),
        delta=1e-5,
        default_eps=(1.0, 10.0),
        default_seeds=(0,),
        default_methods=(
            "dp-sgd",
            "broken-no-noise",
            "broken-half-noise",
            "broken-unclipped-layer",
            "broken-full-batch",
        ),
        datasets=("phantom-mammo",),
        privacy_unit="one mass patch",
        protocol="bench.tasks.privacy_audit.protocol:PROTOCOL",
        settings=SETTINGS,
    )
)
