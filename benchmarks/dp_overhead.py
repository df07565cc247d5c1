"""DP-SGD step time over non-private step time, per reference model, in one process.

    python -m benchmarks.dp_overhead --json            # each model on its fastest path
    python -m benchmarks.dp_overhead --json --mode hooks
    python -m benchmarks.dp_overhead --all-modes       # every mode, to choose by measurement

Prints ``{"vit": r, "unet3d": r, "gan_d": r, "small-cnn": r}``: r = median DP step /
median plain step, of the small-profile cases of :mod:`benchmarks.asv.dp_step` (built as
the reference methods build them, both steps through :meth:`PrivacyLedger.train`), one
torch thread. The two kinds of steps alternate so that a change in the machine's load
hits both alike.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys

import torch

from bench.privacy.ledger import GRAD_SAMPLE_MODES
from benchmarks.asv.dp_step import MODELS, step, training

# each model's fastest mode by this script's --all-modes (docs/performance.md)
FASTEST = {"vit": "fast-hooks", "unet3d": "fast-hooks", "gan_d": "fast-hooks",
           "small-cnn": "hooks"}  # fmt: skip


def ratio(name: str, mode: str, steps: int = 5) -> dict[str, float]:
    """Median DP step and median plain step of model ``name`` (interleaved), and their ratio."""
    torch.manual_seed(0)
    case = MODELS[name]()
    dp, plain = training(case, 8.0, mode), training(case, math.inf, mode)
    step(case, dp), step(case, plain)  # warm-up: allocations, hooks, oneDNN primitives
    times = [(step(case, dp), step(case, plain)) for _ in range(steps)]
    t_dp = statistics.median(t for t, _ in times)
    t_plain = statistics.median(t for _, t in times)
    return {"dp_s": t_dp, "plain_s": t_plain, "ratio": t_dp / t_plain}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.dp_overhead",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--json", action="store_true", help="print {model: ratio} only")
    parser.add_argument(
        "--mode", choices=GRAD_SAMPLE_MODES, help="one mode for all (default: FASTEST's)"
    )
    parser.add_argument("--all-modes", action="store_true", help="every mode for every model")
    parser.add_argument("--models", default=",".join(MODELS), help="comma-separated subset")
    parser.add_argument("--steps", type=int, default=5, help="timed steps of each kind")
    args = parser.parse_args(argv)
    names = args.models.split(",")
    if unknown := [n for n in names if n not in MODELS]:
        parser.error(f"unknown model {unknown[0]!r}; known: {', '.join(MODELS)}")
    if args.steps < 1:
        parser.error("--steps must be at least 1")
    torch.set_num_threads(1)
    if args.all_modes:
        table = {n: {m: _try(n, m, args.steps) for m in GRAD_SAMPLE_MODES} for n in names}
        print(json.dumps(table, indent=None if args.json else 2))
        return 0
    results = {n: ratio(n, args.mode or FASTEST[n], args.steps) for n in names}
    if args.json:
        print(json.dumps({n: round(r["ratio"], 3) for n, r in results.items()}))
    else:
        for n, r in results.items():
            print(f"{n:8s} {args.mode or FASTEST[n]:9s} DP {r['dp_s'] * 1e3:8.1f} ms  "
                  f"plain {r['plain_s'] * 1e3:8.1f} ms  ratio {r['ratio']:.2f}")  # fmt: skip
    return 0


def _try(name: str, mode: str, steps: int) -> float | str:
    """The ratio, or why opacus refused the mode for this model (ew lacks custom layers)."""
    try:
        return round(ratio(name, mode, steps)["ratio"], 3)
    except Exception as exc:  # a mode a model cannot use is a table entry, not a crash
        return f"unsupported: {type(exc).__name__}: {str(exc).splitlines()[0][:80]}"


if __name__ == "__main__":
    sys.exit(main())
