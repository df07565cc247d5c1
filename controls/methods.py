"""The methods of ``privacy-audit``, registered through the ``bench.methods`` entry point.

``dp-sgd`` is honest DP-SGD through the ledger. Every ``broken-*`` method is DELIBERATELY
WRONG -- a negative control that an audit must catch (a lower bound above its claim) --
and each is a bug seen in real DP code, made through the same public API a plug-in uses:

- ``broken-no-noise``: a noise routine that adds none, while the optimizer (and so the
  accountant, which reads it) keeps the calibrated noise multiplier;
- ``broken-half-noise``: the same routine drawing half the calibrated noise;
- ``broken-unclipped-layer``: a custom clipping routine that leaves one layer's per-sample
  gradients unclipped (the hidden layer's weight);
- ``broken-full-batch``: the ledger is told batches of ``batch_size`` (Poisson rate
  batch / n), but every step trains on the whole split (fixed-size batches, accounted
  as Poisson).

Import-light: configs and registrations only; :mod:`controls.training` runs them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from bench.tasks import register_method
from bench.tasks.base import MethodSpec, lazy

TASK = "privacy-audit"


@dataclass(frozen=True)
class ControlConfig:
    """A small MLP on flattened patches, trained with DP-SGD (SGD, C = max_grad_norm).

    ``batch_size`` at least the number of records gives full-batch DP-SGD (q = 1), the
    setting whose audit is tightest.
    """

    hidden: tuple[int, ...] = (64, 32)
    epochs: int = 2
    batch_size: int = 65536
    lr: float = 0.1
    max_grad_norm: float = 1.0


_CONTROLS = {
    "dp-sgd": ("honest DP-SGD through the ledger (the audit's positive reference)", "honest"),
    "broken-no-noise": (
        "DELIBERATELY WRONG: no noise drawn (the accountant sees sigma)",
        "no_noise",
    ),
    "broken-half-noise": ("DELIBERATELY WRONG: half the calibrated noise drawn", "half_noise"),
    "broken-unclipped-layer": (
        "DELIBERATELY WRONG: one layer's per-sample gradients not clipped",
        "unclipped_layer",
    ),
    "broken-full-batch": (
        "DELIBERATELY WRONG: every step on the whole split, accounted as Poisson batches",
        "full_batch",
    ),
}

for _name, (_text, _bug) in _CONTROLS.items():
    # broken-full-batch claims about four Poisson batches per epoch of its records
    _config = ControlConfig(epochs=1, batch_size=1024) if _bug == "full_batch" else ControlConfig()
    register_method(
        MethodSpec(
            task=TASK,
            name=_name,
            description=_text,
            configs={
                "smoke": replace(_config, batch_size=min(_config.batch_size, 64)),
                "small": _config,
                "paper": _config,
            },
            run=lazy(f"controls.training:run_{_bug}"),
        )
    )
