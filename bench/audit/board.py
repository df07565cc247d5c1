"""The leaderboard's audit column: the audited lower bound per row, flagged above the claim.

The board calls :func:`audit_column` with a ``privacy-audit`` record, or with the JSON
object ``bench audit --json`` prints (an :class:`~bench.audit.audit.AuditResult`), and
shows ``cell``.

Example:
    >>> audit_column({"epsilon_lower_bound": 12.0, "claimed_epsilon": 9.98,
    ...               "confidence": 0.95})["cell"]
    '12.00 > claim 9.98 (95%) FALSE CLAIM'
"""

from __future__ import annotations

from typing import Any


def audit_column(record_or_result: dict[str, Any]) -> dict[str, Any]:
    """``{"lower_bound", "claimed", "confidence", "exceeds_claim", "cell"}`` of one row."""
    audit = record_or_result
    if "metrics" in record_or_result:  # a privacy-audit record: its outputs hold the audit
        audit = record_or_result.get("outputs", {}).get("audit") or record_or_result["metrics"]
    low, claimed = audit.get("epsilon_lower_bound"), audit.get("claimed_epsilon")
    if low is None or claimed is None:
        return {"lower_bound": None, "claimed": claimed, "confidence": None,
                "exceeds_claim": None, "cell": "not audited"}  # fmt: skip
    confidence = audit.get("confidence", 0.95)
    exceeds = low > claimed
    cell = (
        f"{low:.2f} > claim {claimed:.2f} ({confidence:.0%}) FALSE CLAIM"
        if exceeds
        else f"{low:.2f} <= {claimed:.2f} ({confidence:.0%})"
    )
    return {"lower_bound": low, "claimed": claimed, "confidence": confidence,
            "exceeds_claim": exceeds, "cell": cell}  # fmt: skip
