"""``norm-prior``: a prior-free attack plus one prior fact, the target's L2 norm.

The prior-free threat model tells the adversary the target's norm, so it may project its
noisy reconstruction onto that sphere. Whether this beats the prior-free bound is exactly
what the task's bound-vs-empirical table shows. Importing this module registers the
method; the ``bench.methods`` entry point in pyproject.toml makes the suite import it.
"""

from dataclasses import dataclass
from typing import Literal

from bench.tasks import register_method
from bench.tasks.base import MethodSpec
from bench.tasks.recon_attack.api import AttackView, Release


@dataclass(frozen=True)
class NormPriorConfig:
    """No hyper-parameters: the task pins sizes, trials and schedule of the threat model."""

    threat_model: Literal["prior_free"] = "prior_free"


class NormPrior:
    """The artifact: a bias-free linear trap, and its read-out projected onto ||x||."""

    def __init__(self, view: AttackView):
        import torch

        self.model = torch.nn.Linear(view.input_shape[0], 1, bias=False)
        torch.nn.init.zeros_(self.model.weight)  # the update is then exactly the release

    def loss(self, outputs, labels):
        return outputs.sum()  # a sum over the batch: its gradient w.r.t. the weight is x

    def reconstruct(self, release: Release):
        # Each step that sampled the target released c x + noise; the others pure noise.
        steps = zip(release.updates, release.sampled, strict=True)
        reads = [update["weight"][0] for update, hit in steps if hit]
        if not reads:
            return None  # never sampled: abstain (a failure)
        x_hat = sum(reads) / len(reads)
        return x_hat / x_hat.norm() * release.norm  # the norm prior


def run(ctx, view: AttackView, ledger) -> NormPrior:
    return NormPrior(view)  # no training: the task runs the DP release on its model


register_method(
    MethodSpec(
        task="recon-attack",
        name="norm-prior",
        description="prior-free attack projected onto the known target norm (example plug-in)",
        configs={profile: NormPriorConfig() for profile in ("smoke", "small", "paper")},
        run=run,
    )
)
