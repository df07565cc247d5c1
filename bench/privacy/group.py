"""Subject-level epsilon by group privacy, where a subject contributes several records.

The ledger's guarantee is per record (add/remove one record). A subject with k records
(cardiac-ldm: the ED and the ES volume of one heart, k = 2) is protected by group
privacy: chaining the (e, d)-DP inequality along k neighbouring datasets gives
(k e, d (1 + e^e + ... + e^((k-1) e)))-DP for groups of k records (Dwork & Roth 2014,
Thm 2.2 for pure DP; Vadhan 2017, Lemma 2.2 with delta). To state the subject-level
guarantee at the *task's* delta rather than at an inflated one, the record-level epsilon
is taken at the smaller delta d' = delta / (1 + ... + e^((k-1) e)) that the group step
multiplies back to delta: a fixed point e = eps_acc(d'(e)) of the accountant
(increasing in e, so a short iteration from below converges).

Treating a subject as one unit of sensitivity k C sampled at rate 1 - (1 - q)^k (a
valid dominating mechanism) is much looser here: 5.07 instead of 2.18 for
sigma 2.97, q 0.1, T 50 (PRV, delta 1e-5), because both records are sampled together
only with probability q^2.

Example:
    >>> history = [(1.0, 0.01, 1000)]
    >>> block = subject_level(history, 1e-5, "rdp", 2)
    >>> block["records_per_subject"], block["delta"]
    (2, 1e-05)
    >>> block["epsilon"] > 2 * epsilon_of_history(history, 1e-5, "rdp")
    True
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from bench.privacy.accounting import AccountingError, epsilon_of_history

_SLACK = 1e-3  # relative: the reported epsilon sits at most ~0.1 % above the fixed point
_ITERATIONS = 60


def group_delta(delta: float, epsilon: float, k: int) -> float:
    """The record-level delta d' whose group-of-k delta d' (1 + ... + e^((k-1) epsilon)) is
    ``delta``.

    >>> group_delta(1e-5, 0.0, 2)
    5e-06
    """
    return delta / sum(math.exp(i * epsilon) for i in range(k))


def subject_level(history: Sequence, delta: float, accountant: str, k: int) -> dict[str, Any]:
    """The subject-level (epsilon, delta) of a composed history for subjects of ``k`` records.

    Returns a block with ``epsilon`` (k times the record-level epsilon found at the group
    delta), ``delta`` (= ``delta``), the record-level pair it came from, the
    ``accountant`` used and ``how``. At a large epsilon the record-level delta is tiny
    (1e-17 at epsilon 10), below what opacus's PRV accountant resolves; RDP, also an
    upper bound, then takes over, and the block says so.
    """
    try:
        return _subject_level(history, delta, accountant, k)
    except AccountingError:
        if accountant == "rdp":
            raise
        block = _subject_level(history, delta, "rdp", k)
        block["how"] += f"; rdp, as {accountant} cannot resolve delta {block['record_delta']:.3g}"
        return block


def _subject_level(history: Sequence, delta: float, accountant: str, k: int) -> dict[str, Any]:
    # e_{n+1} = eps_acc(d'(e_n)) + slack climbs to just above the fixed point, where
    # eps_acc(d'(e)) <= e: the record-level (e, d'(e)) guarantee then holds, and is checked
    record_eps = epsilon_of_history(history, delta, accountant)
    for _ in range(_ITERATIONS):
        record_delta = group_delta(delta, record_eps, k)
        needed = epsilon_of_history(history, record_delta, accountant)
        if needed <= record_eps:
            break
        record_eps = needed + _SLACK * needed + 1e-4
    else:
        raise ArithmeticError(f"group privacy for {k} records did not converge")
    return {
        "records_per_subject": k,
        "epsilon": k * record_eps,
        "delta": delta,
        "record_epsilon": record_eps,
        "record_delta": record_delta,
        "accountant": accountant,
        "how": (
            f"group privacy for {k} records: the record-level guarantee (e, d') from "
            f"opacus {accountant} at d' = delta / (1 + ... + exp({k - 1} e)), so that "
            f"({k} e, delta) holds for a subject's {k} records (chained DP inequality; "
            "Vadhan 2017, Lemma 2.2)"
        ),
    }
