"""``bench compare BASE_DIR NEW_DIR``: fail when a metric got worse or a cell went missing."""

from __future__ import annotations

import argparse

from bench.cli.args import path_arg

EPILOG = """examples:
  bench compare runs/baseline runs/new
  bench compare base/ new/ --tolerance success_empirical=0.02 --tolerance mse_mean=5%
  bench compare base/ new/ --metrics success_empirical --format markdown > comment.md

The gate is a verdict per (method, epsilon) over seeds, paired by seed: the mean change
against the tolerance. By default it judges each task's primary metric with the task's
tolerance (recon-attack, mammo-cls: 0.02; cardiac-ldm: 10%); name other metrics with
--metrics or --tolerance, or give --default-tolerance, to gate on them too.

Exit status: 0 no regression, 1 a verdict worse beyond its tolerance, or a cell or metric
of BASE missing in NEW (a NaN or null metric is missing), 2 bad input.
See docs/regression-tracking.md.
"""


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "compare",
        help="compare two result sets cell by cell; exit 1 on a regression",
        description="Compare the records of two run directories cell by cell (same task "
        "version, method, epsilon and seed) and metric by metric.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("base", type=path_arg, metavar="BASE_DIR", help="the stored baseline results")
    p.add_argument("new", type=path_arg, metavar="NEW_DIR", help="the results to check")
    p.add_argument(
        "--tolerance",
        action="append",
        default=[],
        metavar="METRIC=VALUE",
        help="how much METRIC may get worse: absolute (0.02) or relative (5%%); repeatable",
    )
    p.add_argument(
        "--default-tolerance",
        default=None,
        metavar="VALUE",
        help="tolerance of every metric without its own, which then gates too (default: "
        "only the task's primary metric gates, with the task's tolerance)",
    )
    p.add_argument("--metrics", help="comma-separated metrics to compare (default: all)")
    p.add_argument("--format", choices=("text", "markdown"), default="text")
    p.add_argument("--all", action="store_true", help="list unchanged metrics too")
    return p


def main(args: argparse.Namespace) -> int:
    from bench.cli.run_cmd import parse_list
    from bench.compare import compare, load_cells, parse_tolerances

    tolerances = parse_tolerances(args.tolerance)
    default = None
    if args.default_tolerance is not None:
        default = parse_tolerances([f"default={args.default_tolerance}"])["default"]
    metrics = parse_list(args.metrics, None, "metric") if args.metrics else None
    notes: list[str] = []
    base, new = load_cells(args.base, notes), load_cells(args.new, notes)
    result = compare(base, new, tolerances, metrics, default)
    result.notes[:0] = notes
    print(report(result, args.format, show_all=args.all))
    return 1 if result.failed else 0


def report(result, fmt: str, *, show_all: bool = False) -> str:
    """The verdict line, the table of deltas (changed rows unless ``show_all``) and notes."""
    from tabulate import tabulate

    from bench.compare import FAILING, format_cell

    counts = result.counts()
    verdict = "FAIL" if result.failed else "OK"  # missing, or a gating verdict worse
    summary = ", ".join(f"{n} {status}" for status, n in counts.items())
    head = f"bench compare: {verdict} ({summary})"
    shown = [d for d in result.deltas if show_all or d.status != "ok" or d.base != d.new]
    rows = [
        (
            format_cell(d.cell),
            d.metric,
            _value(d.base, d.base_ci),
            _value(d.new, d.new_ci),
            _delta(d),
            str(d.tolerance),
            d.status.upper() if d.status in FAILING else d.status,
        )
        for d in shown
    ]
    headers = ("cell", "metric", "base [95% CI]", "new [95% CI]", "delta", "tolerance", "status")
    table = (
        tabulate(
            rows,
            headers,
            tablefmt="github" if fmt == "markdown" else "simple",
            disable_numparse=True,
        )
        if rows
        else "no differences"
    )
    notes = "\n".join(f"- note: {n}" for n in dict.fromkeys(result.notes))
    if fmt == "markdown":
        head = f"**{head}**"
    over_seeds = verdict_table(result, fmt, show_all=show_all)
    return "\n\n".join(part for part in (head, over_seeds, table, notes) if part)


def verdict_table(result, fmt: str, *, show_all: bool = False) -> str:
    """The gate: one row per (method, epsilon, metric) over its paired seeds."""
    from tabulate import tabulate

    from bench.compare import format_group

    shown = [v for v in result.verdicts if show_all or v.gating or v.status != "ok"]
    if not shown:
        return ""
    rows = [
        (
            format_group(v.group),
            v.metric,
            str(v.seeds),
            f"{v.base_mean:.4g}",
            f"{v.new_mean:.4g}",
            f"{v.gain:+.3g} ± {v.gain_se:.2g}",
            f"{v.worse_seeds}/{v.seeds}",
            str(v.tolerance) if v.gating else f"{v.tolerance} (not gating)",
            v.status.upper() if v.gating and v.status == "worse" else v.status,
        )
        for v in shown
    ]
    headers = ("method, epsilon", "metric", "seeds", "base mean", "new mean")
    headers += ("mean paired change (± se)", "worse seeds", "tolerance", "verdict")
    title = "verdict over seeds (paired by seed; change > 0 is better):"
    tablefmt = "github" if fmt == "markdown" else "simple"
    return title + "\n\n" + tabulate(rows, headers, tablefmt=tablefmt, disable_numparse=True)


def _value(value, ci) -> str:
    if value is None:
        return "-"
    return f"{value:.4g}" + (f" [{ci[0]:.3g}, {ci[1]:.3g}]" if ci else "")


def _delta(delta) -> str:
    if delta.base is None or delta.new is None:
        return "-"
    return f"{delta.new - delta.base:+.3g}"
