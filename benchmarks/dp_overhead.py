"""DP-SGD step time over non-private step time, per reference model, in one process.

    python -m benchmarks.dp_overhead --json                    # each model, fastest mode
    python -m benchmarks.dp_overhead --json --modes hooks,fast-hooks
    python -m benchmarks.dp_overhead --modes all               # to choose by measurement

Prints ``{"vit": r, "unet3d": r, "gan_d": r, "small-cnn": r}``: r = median DP step /
median plain step, of the small-profile cases of :mod:`benchmarks.asv.dp_step` (built as
the reference methods build them, both steps through :meth:`PrivacyLedger.train`), one
torch thread. The plain step and every mode's DP step alternate so that a change in the
machine's load hits all alike.
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

# each model's fastest mode by this script's --modes all (docs/performance.md)
FASTEST = {"vit": "fast-hooks", "unet3d": "fast-hooks", "gan_d": "fast-hooks",
           "small-cnn": "hooks"}  # fmt: skip


def ratios(name: str, modes: list[str], steps: int = 5) -> dict[str, float | str]:
    """Median DP step / median plain step of model ``name`` for each mode, all steps
    interleaved in this process (a load change hits every mode alike); a mode the model
    cannot use gets the reason instead."""
    torch.manual_seed(0)
    case = MODELS[name]()
    runs, out = {"plain": training(case, math.inf, "hooks")}, {}
    for mode in modes:
        try:
            runs[mode] = training(case, 8.0, mode)
            step(case, runs[mode])  # warm-up: allocations, hooks, oneDNN primitives
        except Exception as exc:  # a mode a model cannot use is a table entry, not a crash
            runs.pop(mode, None)
            out[mode] = f"unsupported: {type(exc).__name__}: {str(exc).splitlines()[0][:80]}"
    step(case, runs["plain"])
    times: dict[str, list[float]] = {k: [] for k in runs}
    for _ in range(steps):
        for k, run in runs.items():
            times[k].append(step(case, run))
    plain = statistics.median(times.pop("plain"))
    out.update({k: round(statistics.median(v) / plain, 3) for k, v in times.items()})
    return {m: out[m] for m in modes}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.dp_overhead",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--json", action="store_true", help="one line of JSON")
    parser.add_argument(
        "--modes",
        help="comma-separated grad-sample modes, or 'all': {model: {mode: ratio}} "
        "(default: each model's FASTEST mode, {model: ratio})",
    )
    parser.add_argument("--models", default=",".join(MODELS), help="comma-separated subset")
    parser.add_argument("--steps", type=int, default=5, help="timed steps of each kind")
    args = parser.parse_args(argv)
    names = args.models.split(",")
    if unknown := [n for n in names if n not in MODELS]:
        parser.error(f"unknown model {unknown[0]!r}; known: {', '.join(MODELS)}")
    modes = list(GRAD_SAMPLE_MODES) if args.modes == "all" else (args.modes or "").split(",")
    if args.modes and (unknown := [m for m in modes if m not in GRAD_SAMPLE_MODES]):
        parser.error(f"unknown mode {unknown[0]!r}; known: {', '.join(GRAD_SAMPLE_MODES)}")
    if args.steps < 1:
        parser.error("--steps must be at least 1")
    torch.set_num_threads(1)
    if args.modes:
        result = {n: ratios(n, modes, args.steps) for n in names}
    else:
        result = {n: ratios(n, [FASTEST[n]], args.steps)[FASTEST[n]] for n in names}
    print(json.dumps(result, indent=None if args.json else 2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
