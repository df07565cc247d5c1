"""``bench risk``: translate a privacy budget into reconstruction risk (Riess et al.)."""

from __future__ import annotations

import argparse
import json
import math

from bench.cli.privacy_cmd import add_mechanism_args, print_table, solve_mechanism
from bench.errors import BenchError

EPILOG = """examples:
  bench risk --sigma 1 --dim 1 --norm 1 --mse-threshold 0.1 --kappa 0.0769
  bench risk --epsilon 8 --delta 1e-5 --dim 4096 --mse-threshold 0.01 --prior-size 10
  bench risk --epsilon 8 --sample-rate 0.01 --steps 1000 --dim 4096 --target-success 0.05
"""


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "risk",
        help="reconstruction risk of a budget (and its inverse)",
        description="Bound an attacker's success at reconstructing a training "
        "image from the DP-SGD releases of (sigma, q, T).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_mechanism_args(p)
    p.add_argument("--dim", type=int, default=1, help="values per target, N (default 1)")
    p.add_argument("--norm", type=float, default=1.0, help="target L2 norm ||X|| (default 1)")
    p.add_argument("--mse-threshold", type=float, default=0.1, help="eta (default 0.1)")
    p.add_argument("--psnr-threshold", type=float, help="rho in dB, optional")
    p.add_argument("--data-range", type=float, default=1.0, help="R for PSNR (default 1)")
    prior = p.add_mutually_exclusive_group()
    prior.add_argument("--kappa", type=float, help="identification baseline (default 0.1)")
    prior.add_argument("--prior-size", type=int, help="n candidates, kappa = 1/n")
    p.add_argument(
        "--target-success",
        type=float,
        help="report the sigma that keeps P[MSE <= eta] at or below this",
    )
    return p


#: Monte Carlo ReRo (q T < 10 or T < 30) draws 2 x 200,000 losses per step, about 16 ms
#: a step on a busy core: beyond this many steps the calculator refuses instead of hanging.
MAX_MC_STEPS = 500
#: The prior-free sum runs over the binomial support, ~15 sqrt(T q (1 - q)) points.
MAX_STEPS = 10**12


def _positive(value, flag: str) -> float:
    if not (0 < value < math.inf):
        raise BenchError(f"bad value for {flag}: expected a finite number > 0, got {value}")
    return value


def _kappa(args: argparse.Namespace) -> float:
    if args.prior_size is not None:
        if args.prior_size < 2:
            raise BenchError(
                f"bad value for --prior-size: expected an integer >= 2, got {args.prior_size}"
            )
        return 1 / args.prior_size
    kappa = 0.1 if args.kappa is None else args.kappa
    if not 0 < kappa < 1:
        raise BenchError(f"bad value for --kappa: expected a number in (0, 1), got {kappa}")
    return kappa


def check_flags(args: argparse.Namespace) -> None:
    """Every risk flag, checked before any computation (one-line errors naming the flag)."""
    if args.steps > MAX_STEPS:
        raise BenchError(
            f"bad value for --steps: expected at most {MAX_STEPS:.0e}, got {args.steps}"
        )
    if args.dim < 1:
        raise BenchError(f"bad value for --dim: expected an integer >= 1, got {args.dim}")
    for flag in ("norm", "mse_threshold", "data_range"):
        _positive(getattr(args, flag), "--" + flag.replace("_", "-"))
    if args.psnr_threshold is not None and not math.isfinite(args.psnr_threshold):
        raise BenchError(
            f"bad value for --psnr-threshold: expected a finite dB value, got {args.psnr_threshold}"
        )
    if args.target_success is not None and not 0 < args.target_success < 1:
        raise BenchError(
            f"bad value for --target-success: expected a number in (0, 1), "
            f"got {args.target_success}"
        )
    _kappa(args)


def build_query(args: argparse.Namespace, sigma: float):
    """The risk query of the (checked) flags; refuses a Monte Carlo bound that would hang."""
    from bench.privacy.risk import RiskQuery

    query = RiskQuery(
        sigma=sigma,
        sample_rate=args.sample_rate,
        steps=args.steps,
        dim=args.dim,
        norm=args.norm,
        mse_threshold=args.mse_threshold,
        psnr_threshold=args.psnr_threshold,
        data_range=args.data_range,
        kappa=_kappa(args),
    )
    _check_cost(query)
    return query


def _check_cost(query) -> None:
    from bench.privacy.risk import rero_method

    if rero_method(query).startswith("monte carlo") and query.steps > MAX_MC_STEPS:
        raise BenchError(
            f"the ReRo bound at q {query.sample_rate:g}, T {query.steps} (q T < "
            f"10: no Edgeworth) is by Monte Carlo, one pass per step: at most "
            f"{MAX_MC_STEPS} steps here (it would take minutes)"
        )


def _mechanism(args: argparse.Namespace) -> dict:
    """sigma and epsilon; sigma = 0 and --epsilon inf are the non-private release."""
    from bench.privacy.accounting import check_mechanism
    from bench.privacy.budget import parse_epsilon

    private = args.sigma != 0 and (args.epsilon is None or parse_epsilon(args.epsilon) < math.inf)
    if private:
        return solve_mechanism(args)
    check_mechanism(0.0, args.sample_rate, args.steps, args.delta)
    return {"sigma": 0.0, "epsilon": None}


def main(args: argparse.Namespace) -> int:
    from bench.privacy.risk import assess, required_sigma

    check_flags(args)
    mechanism = _mechanism(args)
    query = build_query(args, mechanism["sigma"])
    values = {
        **mechanism,
        "kappa": query.kappa,
        "dim": query.dim,
        "norm": query.norm,
        "mse_threshold": query.mse_threshold,
        **assess(query),
    }
    if args.target_success is not None:
        values["required_sigma"] = required_sigma(query, args.target_success)
    if args.json:
        print(json.dumps(values, allow_nan=False))
    else:
        print_table(values)
    return 0
