"""``bench risk``: translate a privacy budget into reconstruction risk (Riess et al.)."""

from __future__ import annotations

import argparse
import json

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


def build_query(args: argparse.Namespace, sigma: float):
    from bench.privacy.risk import RiskQuery

    kappa = 1 / args.prior_size if args.prior_size else (args.kappa or 0.1)
    checks = {
        "--dim": args.dim >= 1,
        "--norm": args.norm > 0,
        "--mse-threshold": args.mse_threshold > 0,
        "--data-range": args.data_range > 0,
        "--kappa/--prior-size": 0 < kappa < 1,
    }
    bad = [flag for flag, ok in checks.items() if not ok]
    if bad:
        raise BenchError(f"bad value for {bad[0]}")
    return RiskQuery(
        sigma=sigma,
        sample_rate=args.sample_rate,
        steps=args.steps,
        dim=args.dim,
        norm=args.norm,
        mse_threshold=args.mse_threshold,
        psnr_threshold=args.psnr_threshold,
        data_range=args.data_range,
        kappa=kappa,
    )


def main(args: argparse.Namespace) -> int:
    from bench.privacy.risk import assess, required_sigma

    mechanism = solve_mechanism(args) if args.sigma != 0 else {"sigma": 0.0, "epsilon": None}
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
        if not 0 < args.target_success < 1:
            raise BenchError("--target-success must be in (0, 1)")
        values["required_sigma"] = required_sigma(query, args.target_success)
    if args.json:
        print(json.dumps(values, allow_nan=False))
    else:
        print_table(values)
    return 0
