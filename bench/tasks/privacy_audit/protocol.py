"""The protocol of ``privacy-audit``: the data, and the audit as the task's scoring."""

from __future__ import annotations

import functools
import math
from typing import Any

from bench.tasks.base import CellContext, Prepared, Scored
from bench.tasks.privacy_audit.api import AuditView

#: Data seeds of the input canaries' patches (audit seed s renders seed CANARY_DATA_SEED +
#: s): never a profile's ``data_seed``, so a canary is never a copy of a training record.
CANARY_DATA_SEED = 1_000_003


class AuditProtocol:
    """Prepare phantom mass patches; score = audit the cell's method."""

    def prepare(self, ctx: CellContext, ledger) -> Prepared:
        s = ctx.settings
        data = _patches(s.n_train, s.image_size, s.data_seed)
        train = ledger.hold("private training split", data.images, data.labels)
        dataset = {"name": ctx.dataset, "n_train": s.n_train, "image_size": s.image_size}
        return Prepared(AuditView(train, s.image_size), None, dataset)

    def score(self, ctx: CellContext, prepared: Prepared, artifact, ledger) -> Scored:
        from bench.audit.audit import AuditPlan, audit_method

        s = ctx.settings
        ledger.record_evaluation(
            "private training split, re-read by the audit's runs of the method (separate "
            "ledgers, canaries added); the audited bound itself is not differentially private"
        )
        if not math.isfinite(ctx.budget.epsilon):  # the non-private baseline claims nothing
            note = {"note": "eps = inf claims no privacy: nothing to audit"}
            return Scored({"exceeds_claim": 0.0}, {"audit": note})
        plan = AuditPlan(s.runs, s.canaries, s.confidence, ctx.profile, ctx.cell.seed)
        result = audit_method(ctx.task.name, ctx.cell.method, ctx.budget.epsilon, plan)
        claimed = result.claimed_epsilon
        metrics = {
            "claimed_epsilon": claimed,
            "epsilon_lower_bound": result.epsilon_lower_bound,
            "epsilon_trials": result.epsilon_trials,
            "epsilon_one_run": result.epsilon_one_run,
            "lower_bound_over_claim": result.epsilon_lower_bound / claimed,
            "exceeds_claim": float(result.exceeds_claim),
        }
        return Scored(metrics, {"audit": result.as_dict()}, {"audit_plan": vars(plan)})

    def risk(self, ctx: CellContext, ledger) -> dict[str, Any]:
        return {"note": "privacy-audit measures the privacy itself (the audit in metrics)"}

    def input_canaries(self, ctx: CellContext, prepared: Prepared, m: int, seed: int):
        """Black-box input canaries (:mod:`bench.audit.inputs`): m phantom patches the
        adversary renders itself (another data seed), labels flipped; the score is the
        returned model's logit margin towards the canary's label."""
        import numpy as np
        import torch

        from bench.audit.canary import AuditError
        from bench.audit.inputs import InputCanaries

        data = _patches(m, ctx.settings.image_size, CANARY_DATA_SEED + seed)
        images, labels = data.images, (1 - data.labels).astype(np.int64)
        sign = 2.0 * labels - 1.0

        def score(model) -> np.ndarray:
            if not callable(model):
                raise AuditError("input canaries score the method's model: it returned none")
            with torch.no_grad():
                logits = model(torch.as_tensor(images)).double()
            return sign * (logits[:, 1] - logits[:, 0]).numpy()

        return InputCanaries(prepared.view.train, (images, labels), score)


@functools.lru_cache(maxsize=2)
def _patches(n: int, size: int, seed: int):
    """The private phantom patches (rendered once per process: an audit runs many cells)."""
    from bench.datasets.phantoms.mammo import make_mammo

    return make_mammo(n, variant="private", size=size, seed=seed)


PROTOCOL = AuditProtocol()
