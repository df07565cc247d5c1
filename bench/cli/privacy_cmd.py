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


def add_mechanism_args(p: argparse.ArgumentParser) -> None:
    """Flags shared with ``bench risk``: the budget or the noise, and the schedule."""
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--sigma", type=float, help="noise multiplier -> epsilon")
    group.add_argument("--epsilon", type=str, help="target epsilon -> calibrated sigma")
    p.add_argument("--sample-rate", type=float, default=1.0, help="Poisson rate q (default 1)")
    p.add_argument("--steps", type=int, default=1, help="number of steps T (default 1)")
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


def solve_mechanism(args: argparse.Namespace) -> dict:
    """sigma, epsilon and the cross-check epsilon from whichever of the two was given.

    Every input is checked first (NaN, inf, out of range: one-line errors). The
    cross-check is ``null`` with a ``note`` when its accountant cannot account the
    mechanism (a PRV grid too large, say); the reported accountant failing is an error.
    """
    from bench.privacy.accounting import (
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
        cal = calibrate(budget, args.sample_rate, args.steps)
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


def print_table(values: dict) -> None:
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
        print(f"{key:<{width}}  {text}")


def main(args: argparse.Namespace) -> int:
    values = solve_mechanism(args)
    if args.json:
        print(json.dumps(values, allow_nan=False))
    else:
        print_table(values)
    return 0
