"""Black-box input canaries: records planted in the private training split, scored on the
artifact the method returns (Steinke, Nasr and Jagielski's one-run audit in input space).

The white-box gradient canaries of :mod:`bench.audit.canary` replace a canary's gradient
inside the DP optimizer: they audit the DP-SGD step itself, as tightly as it can be
audited, and see nothing of what a method does with its records outside that step. Input
canaries audit the whole path from the records to the artifact instead:

1. the task builds m canary *records* in the format of its private training split
   (``input_canaries(ctx, prepared, m, seed)`` of its protocol; ``mammo-cls`` and
   ``privacy-audit``: patches whose label is flipped, drawn from data the adversary knows);
2. each is added to the held split by a fair coin *before* the method runs, so an included
   canary takes every path a record takes: the method's per-record maps
   (``PrivateData.map``), its sampling, clipping and noise, anything else;
3. the task scores every canary on the returned artifact (the classifier's margin
   towards the canary's label: higher means more likely trained on);
4. Steinke et al.'s bound (:func:`bench.audit.one_run.audit_one_run`) turns the scores
   and coins into an epsilon lower bound. The canaries of a run share one model, so they
   are not independent trials: only the one-run bound is valid, and it needs no
   independence. Runs are pooled (each canary lives in one run, so the pooled audit is
   still a one-run audit of a mechanism that is (epsilon, delta)-DP for each canary).

A black-box adversary sees much less than the white-box one, so against honest DP-SGD the
bounds are far below the claim, and m canaries cannot prove more than about
log(m)-ish (3.5 with 1000 canaries all guessed right). What they catch that gradient
canaries cannot is a leak outside the DP step: ``broken-leaky-map`` (a "per-record map"
that keeps the records) passes the gradient audit and is caught here at epsilon 1.

Example:
    >>> import numpy as np
    >>> label_margin(np.array([0.9, 0.9]), np.array([1, 0])).round(3).tolist()
    [2.197, -2.197]
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from bench.errors import BenchError

#: Probabilities are clipped to [EPS, 1 - EPS] before the margin (a log-odds).
EPS = 1e-12


def label_margin(p_positive, labels) -> np.ndarray:
    """Log-odds of each canary's own label under P(label 1) = ``p_positive``."""
    p = np.clip(np.asarray(p_positive, np.float64), EPS, 1.0 - EPS)
    sign = 2.0 * np.asarray(labels, np.float64) - 1.0
    return sign * (np.log(p) - np.log1p(-p))


@dataclass(frozen=True)
class InputCanaries:
    """The canaries a task offers for one run of a method.

    Attributes:
        data: the held split (the ``PrivateData`` of the method's view) they join.
        records: m candidate records in the split's format, one array per field.
        score: ``score(artifact) -> (m,)``: how strongly the artifact shows each canary
            (higher: more likely trained on).
    """

    data: Any
    records: tuple[np.ndarray, ...]
    score: Callable[[Any], np.ndarray]

    def __len__(self) -> int:
        return len(self.records[0])

    def plant(self, included: np.ndarray) -> None:
        """Add the included canaries to the held split, before the method sees it."""
        import torch

        content = self.data._content
        if not isinstance(content, tuple) or len(content) != len(self.records):
            raise BenchError("input canaries need a held split of tensors, one per field")
        self.data._content = tuple(
            torch.cat([t, torch.as_tensor(r[included]).to(t.dtype)])
            for t, r in zip(content, self.records, strict=True)
        )

    def scores(self, artifact) -> np.ndarray:
        """The task's scores of every canary, checked (finite, one each)."""
        scores = np.asarray(self.score(artifact), np.float64)
        if scores.shape != (len(self),) or not np.isfinite(scores).all():
            raise BenchError(f"input canary scores: need {len(self)} finite values")
        return scores
