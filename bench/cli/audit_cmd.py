"""``bench audit``: an empirical epsilon lower bound for a method, next to its claim."""

from __future__ import annotations

import argparse
import json
import math

from bench.errors import BenchError

EPILOG = """examples:
  bench audit dp-sgd --task privacy-audit --eps 1,10
  bench audit broken-no-noise --task privacy-audit --eps 1 --runs 4 --canaries 2000
  bench audit dp-vit-real --task mammo-cls --eps 6 --profile smoke --json
  bench audit broken-leaky-map --task privacy-audit --eps 1 --canary input \
      --canaries 1000                   # black-box input canaries: a leak outside DP-SGD
  bench audit broken-half-noise --task privacy-audit --eps 10 --profile small \
      --runs 500 --canaries 8000        # 4,000,000 canaries: half the noise at eps 10
exit status: 0 when every lower bound is at most its claim, 1 when one exceeds it.
"""


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "audit",
        help="audit a method's DP: epsilon lower bound vs its claim",
        description="Run a method's own DP-SGD code under white-box gradient canaries (or "
        "black-box input canaries) and bound its epsilon from below (docs/privacy-audit.md).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("method", help="a registered method of --task (plug-ins included)")
    p.add_argument("--task", required=True, help="the method's task")
    p.add_argument("--eps", required=True, help="claimed epsilon(s), comma-separated")
    p.add_argument("--runs", type=int, default=4, help="audit runs of the method (default 4)")
    p.add_argument("--canaries", type=int, default=1000, help="canaries per run (default 1000)")
    p.add_argument("--confidence", type=float, default=0.95, help="of the bound (default 0.95)")
    p.add_argument("--profile", default="smoke", help="the method's profile (default smoke)")
    p.add_argument("--seed", type=int, default=0, help="seed of the audit (default 0)")
    p.add_argument(
        "--canary",
        choices=("gradient", "input"),
        default="gradient",
        help="white-box Dirac gradient canaries (default) or black-box input canaries: "
        "records the task builds, planted in the training split, scored on the artifact",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object per epsilon")
    p.add_argument(
        "--quiet", action="store_true", help="no progress lines on stderr (one every 10 s)"
    )
    return p


def _epsilons(text: str) -> list[float]:
    try:
        values = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise BenchError(f"--eps {text!r}: expected numbers like 1,10") from None
    if not values or any(not (0 < e < math.inf) for e in values):
        raise BenchError(f"--eps {text!r}: an audit needs finite epsilons > 0")
    return values


def main(args: argparse.Namespace) -> int:
    from bench.audit.audit import AuditPlan, audit_method
    from bench.tasks import get_method, get_task

    epsilons = _epsilons(args.eps)
    spec = get_task(args.task)
    get_method(args.task, args.method)
    if args.profile not in spec.settings:
        raise BenchError(f"--profile {args.profile!r}: {args.task} has {', '.join(spec.settings)}")
    plan = AuditPlan(
        args.runs, args.canaries, args.confidence, args.profile, args.seed, args.canary
    )
    plan.check()
    caught = False
    for eps in epsilons:
        report = None if args.quiet else _progress(f"{args.method} eps={eps:g}")
        result = audit_method(args.task, args.method, eps, plan, progress=report)
        caught |= result.exceeds_claim
        print(json.dumps(result.as_dict(), allow_nan=False) if args.json else _line(result))
    return 1 if caught else 0


def _progress(what: str, every_s: float = 10.0):
    """A progress reporter for :func:`~bench.audit.audit.audit_method`: a line on stderr at
    most every ``every_s`` seconds, and after the last run."""
    import sys

    last = [-math.inf]

    def report(done: int, runs: int, seconds: float) -> None:
        if done < runs and seconds - last[0] < every_s:
            return
        last[0] = seconds
        left = seconds / done * (runs - done)
        print(f"audit {what}: run {done}/{runs}, {seconds:.0f} s, {seconds / done:.2f} s a run, "
              f"about {left:.0f} s left", file=sys.stderr, flush=True)  # fmt: skip

    return report


def _line(r) -> str:
    flag = "  LOWER BOUND ABOVE CLAIM" if r.exceeds_claim else ""
    trials = "n/a" if r.epsilon_trials is None else f"{r.epsilon_trials:.3f}"
    return (
        f"{r.task} {r.method} eps={r.target_epsilon:g}: claimed {r.claimed_epsilon:.3f}, "
        f"audited lower bound {r.epsilon_lower_bound:.3f} at {r.confidence:.0%} confidence "
        f"(trials {trials}, one-run {r.epsilon_one_run:.3f}; {r.runs} runs x "
        f"{r.canaries // r.runs} {r.canary} canaries, sigma {r.noise_multiplier:.3g}, "
        f"q {r.sample_rate:.3g}, {r.steps} steps, {r.wall_time_s:.0f} s){flag}"
    )
