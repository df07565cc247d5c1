"""``bench risk``: translate a privacy budget into reconstruction risk (Riess et al.)."""

from __future__ import annotations

import argparse
import json
import math

from bench.cli.privacy_cmd import add_mechanism_args, print_table, solve_mechanism
from bench.errors import BenchError

EPILOG = """Without --sample-rate and --steps the release is one full-batch step (q = 1, T = 1),
and the output says so; give a training run's q and T for its figures.

examples:
  bench risk --sigma 1 --dim 1 --norm 1 --mse-threshold 0.1 --kappa 0.0769
  bench risk --epsilon 8 --sample-rate 0.01 --steps 1000 --dim 4096 --prior-size 10
  bench risk --target-success 0.05 --sample-rate 0.01 --steps 1000 --dim 4096
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
    add_mechanism_args(p, required=False)
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
        help="the sigma that keeps P[MSE <= eta] at or below this; alone (no --sigma or "
        "--epsilon) every figure is computed at that sigma",
    )
    p.add_argument(
        "--cross-check",
        action="store_true",
        help="for q < 1 also the Monte Carlo ReRo (upper 95%% limit, seconds) and the "
        "Edgeworth approximation (not a bound)",
    )
    return p


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
    if args.steps is not None and args.steps > MAX_STEPS:
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
    """The risk query of the (checked) flags at noise multiplier ``sigma``."""
    from bench.privacy.risk import RiskQuery

    return RiskQuery(
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


def _mechanism(args: argparse.Namespace) -> dict:
    """sigma and epsilon; sigma = 0 and --epsilon inf are the non-private release.

    With only --target-success, sigma is the one that meets it, and its epsilon is
    accounted like a given --sigma.
    """
    from bench.privacy.accounting import check_mechanism
    from bench.privacy.budget import parse_epsilon
    from bench.privacy.risk import required_sigma

    if args.sigma is None and args.epsilon is None:
        if args.target_success is None:
            raise BenchError("give --sigma, --epsilon or --target-success")
        check_mechanism(0.0, args.sample_rate, args.steps, args.delta)
        args.sigma = required_sigma(build_query(args, 1.0), args.target_success)
        return {**solve_mechanism(args), "sigma_from": "--target-success"}
    private = args.sigma != 0 and (args.epsilon is None or parse_epsilon(args.epsilon) < math.inf)
    if private:
        source = "--sigma" if args.epsilon is None else "calibrated to --epsilon"
        return {**solve_mechanism(args), "sigma_from": source}
    check_mechanism(0.0, args.sample_rate, args.steps, args.delta)
    return {
        "epsilon": None,
        "sigma": 0.0,
        "delta": args.delta,
        "sample_rate": args.sample_rate,
        "steps": args.steps,
        "sigma_from": "non-private",
    }


def _cross_checks(query) -> dict:
    """The Monte Carlo estimate and the Edgeworth approximation of the subsampled ReRo."""
    from bench.privacy.bounds import rero

    if query.sample_rate == 1 or query.sigma == 0:
        return {"note": "closed form: no cross-check needed"}
    args = (query.kappa, query.sigma, query.sample_rate, query.steps)
    mc = rero.rero_subsampled_mc(*args, n_samples=100_000)
    return {
        "monte_carlo_upper_95": mc.ci_high,
        "monte_carlo_estimate": mc.estimate,
        "edgeworth_approximation": rero.rero_subsampled_edgeworth(*args),
    }


def main(args: argparse.Namespace) -> int:
    from bench.cli.privacy_cmd import resolve_schedule
    from bench.privacy.risk import THREAT_MODELS, assess, explain, required_sigma

    check_flags(args)
    assumed = resolve_schedule(args)
    mechanism = _mechanism(args)
    query = build_query(args, mechanism["sigma"])
    figures = assess(query)
    values = {
        **mechanism,
        **({"assumed": assumed} if assumed else {}),
        "kappa": query.kappa,
        "dim": query.dim,
        "norm": query.norm,
        "mse_threshold": query.mse_threshold,
        **figures,
    }
    if args.target_success is not None:
        values["required_sigma"] = required_sigma(query, args.target_success)
    if args.cross_check:
        values["rero_cross_check"] = _cross_checks(query)
    values["threat_models"] = {k: v for k, v in THREAT_MODELS.items() if k in figures}
    values["notes"] = explain(query, figures)
    if args.json:
        print(json.dumps(values, allow_nan=False))
    else:
        _print(values)
    return 0


def _print(values: dict) -> None:
    """The mechanism first, then the figures, then what each figure means."""
    import textwrap

    words = {k: values.pop(k) for k in ("assumed", "threat_models", "notes") if k in values}
    mech_keys = ("sigma", "sigma_from", "sample_rate", "steps", "delta", "accountant")
    mech_keys += ("epsilon", "cross_check")
    print("mechanism (every figure below assumes it):")
    print_table({k: values.pop(k) for k in mech_keys if k in values}, indent="  ")
    if "assumed" in words:
        print(textwrap.fill("note: " + words["assumed"], 88, initial_indent="  ",
                            subsequent_indent="    "))  # fmt: skip
    print("target, prior and figures:")
    print_table(values, indent="  ")
    print("threat models:")
    for key, text in words["threat_models"].items():
        print(textwrap.fill(f"{key}: {text}", 88, initial_indent="  ", subsequent_indent="    "))
    if words["notes"]:
        print("what the figures mean here:")
        for text in words["notes"]:
            print(textwrap.fill(text, 88, initial_indent="  - ", subsequent_indent="    "))
