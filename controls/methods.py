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
  as Poisson);
- ``broken-leaky-map``: honest DP-SGD, but the "per-record map" it applies to the records
  (``PrivateData.map``) keeps them, and the returned model answers a kept record with its
  label: a leak outside the DP step, which white-box gradient canaries cannot see and
  black-box input canaries catch (``bench audit ... --canary input``).

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
    setting whose audit is tightest; there one step audits as tightly as many (T steps at
    sigma are one Gaussian step at sigma / sqrt(T)), so one epoch is one step.

    The first layer (patch pixels x ``hidden[0]``) is the tensor that holds the canaries
    (one coordinate each, so at most its size per run) and, with the canary rows of the
    batch, sets the cost of a run: every canary row's per-sample gradient is materialised
    over every parameter. 256 x 32 = 8,192 coordinates hold the 8,000 canaries a run that
    were cheapest per canary here (``docs/privacy-audit.md``).
    """

    hidden: tuple[int, ...] = (32, 16)
    epochs: int = 1
    batch_size: int = 65536
    lr: float = 0.1
    max_grad_norm: float = 1.0


#: ``broken-full-batch``: it claims Poisson batches of 64 -- with the 256 records and the
#: about 1,000 included canaries of a 2,000-canary run, q = 1/20 and 20 steps -- while every
#: step trains on all of them. 256 x 8 = 2,048 coordinates hold those 2,000 canaries: a run
#: costs 20 full-batch steps, so fewer canaries a step are cheaper per canary.
FULL_BATCH = ControlConfig(hidden=(8, 8), epochs=1, batch_size=64)


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
    "broken-leaky-map": (
        "DELIBERATELY WRONG: a per-record map that keeps the records; the model recalls them",
        "leaky_map",
    ),
}

for _name, (_text, _bug) in _CONTROLS.items():
    _config = FULL_BATCH if _bug == "full_batch" else ControlConfig()
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
