"""The negative controls: each passes the ledger's own checks (its claim is certified)
and is caught by the audit; the honest reference is not."""

from __future__ import annotations

import pytest

from bench.audit.audit import AuditPlan, audit_method
from bench.tasks import get_task, methods_of

BROKEN = ("broken-no-noise", "broken-half-noise", "broken-unclipped-layer", "broken-full-batch")


@pytest.fixture(autouse=True, scope="module")
def _controls_registered():
    """The controls register through the ``bench.methods`` entry point once installed; an
    editable install made before they existed lacks it."""
    from bench.tasks import load

    load()
    import controls.methods  # noqa: F401


def test_every_control_is_registered_documented_and_a_default_of_the_task():
    names = {m.name: m for m in methods_of("privacy-audit")}
    assert set(BROKEN) | {"dp-sgd"} <= set(names)
    assert all("DELIBERATELY WRONG" in names[b].description for b in BROKEN)
    assert set(get_task("privacy-audit").default_methods) == set(BROKEN) | {"dp-sgd"}


def test_an_unclipped_layer_is_caught_while_the_ledger_certifies_its_claim():
    result = audit_method("privacy-audit", "broken-unclipped-layer", 1.0, AuditPlan(1, 200))
    assert result.claimed_epsilon <= 1.0  # the ledger saw nothing wrong
    assert result.exceeds_claim


@pytest.mark.slow
@pytest.mark.parametrize("method", BROKEN)
def test_every_control_is_caught_at_epsilon_1(method):
    """272,000 canaries (4-6 minutes each here): half the noise needs them at eps 1."""
    result = audit_method("privacy-audit", method, 1.0, AuditPlan(34, 8000, profile="small"))
    assert result.claimed_epsilon <= 1.0 and result.exceeds_claim
