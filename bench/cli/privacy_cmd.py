"""``bench privacy``: the accountant as a calculator (sigma -> epsilon, epsilon -> sigma)."""

from __future__ import annotations

import argparse
import json

from bench.errors import BenchError
from bench.privacy.budget import ACCOUNTANTS

EPILOG = """examples:
  bench privacy --sigma 1.5 --sample-rate 0.04 --steps 2250 --delta 1e-5 --accountant rdp
  bench privacy --epsilon 8 --sample-rate 0.01 --steps 10000 --delta 1e-5 --json
"""


#: Said wherever the schedule was not given: the figures are then those of one release.
ASSUMED_SCHEDULE = (
    "--sample-rate and --steps not given: one full-batch step assumed (q = 1, T = 1), "
    "i.e. a single noisy gradient of the target; a training run's q and T give other figures"
)


def add_mechanism_args(p: argparse.ArgumentParser, required: bool = True) -> None:
    """Flags shared with ``bench risk``: the budget or the noise, and the schedule."""
    group = p.add_mutually_exclusive_group(required=required)
    group.add_argument("--sigma", type=float, help="noise multiplier -> epsilon")
    group.add_argument("--epsilon", type=str, help="target epsilon -> calibrated sigma")
    p.add_argument(
        "--sample-rate", type=float, help="Poisson rate q (if neither it nor --steps: q = 1, T = 1)"
    )
    p.add_argument("--steps", type=int, help="number of steps T (if neither: one step)")
    p.add_argument("--delta", type=float, default=1e-5, help="delta (default 1e-5)")
    p.add_argument(
        "--accountant",
        choices=ACCOUNTANTS,
        default="prv",
        help="prv (default) or rdp; the other one is shown as cross-check",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "privacy",
        help="epsilon of a noise level, or the noise for an epsilon",
        description="Account the Poisson-subsampled Gaussian mechanism.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_mechanism_args(p)
    return p


def resolve_schedule(args: argparse.Namespace) -> str | None:
    """Fill in q and T; the assumption made (a sentence) when neither was given, else None.

    The default is stated, never silent: a single full-batch step is the setting of the
    prior-free attack (Riess et al.), but a training run's q and T change every figure.
    """
    assumed = ASSUMED_SCHEDULE if args.sample_rate is None and args.steps is None else None
    args.sample_rate = 1.0 if args.sample_rate is None else args.sample_rate
    args.steps = 1 if args.steps is None else args.steps
    return assumed


def solve_mechanism(args: argparse.Namespace) -> dict:
    """sigma, epsilon and the cross-check epsilon from whichever of the two was given.

    Every input is checked first (NaN, inf, out of range: one-line errors). The
    cross-check is ``null`` with a ``note`` when its accountant cannot account the
    mechanism (a PRV grid too large, say); the reported accountant failing is an error.
    """
    from bench.privacy.accounting import (
        CALCULATOR_MAX_PRV_POINTS,
        calibrate,
        check_mechanism,
        compute_epsilon,
        cross_check,
        other_accountant,
    )
    from bench.privacy.budget import PrivacyBudget, parse_epsilon

    other = other_accountant(args.accountant)
    check_mechanism(
        0.0 if args.sigma is None else args.sigma, args.sample_rate, args.steps, args.delta
    )
    if args.epsilon is not None:
        budget = PrivacyBudget(parse_epsilon(args.epsilon), args.delta, args.accountant)
        if not budget.is_private:
            raise BenchError(
                "--epsilon inf is the non-private case: sigma = 0, nothing to calibrate"
            )
        # the calculator answers in seconds: no calibration over multi-million-point grids
        cal = calibrate(budget, args.sample_rate, args.steps, max_points=CALCULATOR_MAX_PRV_POINTS)
        sigma, eps = cal.sigma, cal.epsilon
        cross, note = cal.cross_check_epsilon, cal.cross_check_note
    else:
        if args.sigma == 0:
            raise BenchError("sigma = 0 is the non-private case: epsilon is infinite")
        sigma = args.sigma
        eps = compute_epsilon(sigma, args.sample_rate, args.steps, args.delta, args.accountant)
        cross, note = cross_check(sigma, args.sample_rate, args.steps, args.delta, args.accountant)
    check = {"accountant": other, "epsilon": cross}
    if cross is None:
        check["note"] = note
    return {
        "epsilon": eps,
        "sigma": sigma,
        "delta": args.delta,
        "sample_rate": args.sample_rate,
        "steps": args.steps,
        "accountant": args.accountant,
        "cross_check": check,
    }


def print_table(values: dict, indent: str = "") -> None:
    """Print ``values`` as aligned ``key  value`` lines (nested dicts flattened)."""
    flat = {}
    for key, value in values.items():
        if isinstance(value, dict):
            flat.update({f"{key}.{k}": v for k, v in value.items()})
        else:
            flat[key] = value
    width = max(len(k) for k in flat)
    for key, value in flat.items():
        text = f"{value:.6g}" if isinstance(value, float) else str(value)
        print(f"{indent}{key:<{width}}  {text}")


def main(args: argparse.Namespace) -> int:
    assumed = resolve_schedule(args)
    values = solve_mechanism(args)
    if assumed:
        values["assumed"] = assumed
    if args.json:
        print(json.dumps(values, allow_nan=False))
    else:
        print_table(values)
    return 0
