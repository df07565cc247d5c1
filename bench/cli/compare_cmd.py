"""``bench compare BASE_DIR NEW_DIR``: fail when a metric got worse or a cell went missing."""

from __future__ import annotations

import argparse

from bench.cli.args import path_arg

EPILOG = """examples:
  bench compare runs/baseline runs/new
  bench compare base/ new/ --tolerance success_empirical=0.02 --tolerance mse_mean=5%
  bench compare base/ new/ --metrics success_empirical --format markdown > comment.md

Exit status: 0 no regression, 1 a metric got worse beyond its tolerance or a cell of
BASE is missing in NEW, 2 bad input. See docs/regression-tracking.md.
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
        default="0",
        metavar="VALUE",
        help="tolerance of metrics without their own (default 0: any worsening fails)",
    )
    p.add_argument("--metrics", help="comma-separated metrics to compare (default: all)")
    p.add_argument("--format", choices=("text", "markdown"), default="text")
    p.add_argument("--all", action="store_true", help="list unchanged metrics too")
    return p


def main(args: argparse.Namespace) -> int:
    from bench.cli.run_cmd import parse_list
    from bench.compare import compare, load_cells, parse_tolerances

    tolerances = parse_tolerances(args.tolerance)
    default = parse_tolerances([f"default={args.default_tolerance}"])["default"]
    metrics = parse_list(args.metrics, None, "metric") if args.metrics else None
    result = compare(load_cells(args.base), load_cells(args.new), tolerances, metrics, default)
    print(report(result, args.format, show_all=args.all))
    return 1 if result.failed else 0


def report(result, fmt: str, *, show_all: bool = False) -> str:
    """The verdict line, the table of deltas (changed rows unless ``show_all``) and notes."""
    from tabulate import tabulate

    from bench.compare import FAILING, format_cell

    counts = result.counts()
    verdict = "FAIL" if result.failed else "OK"
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
    return "\n\n".join(part for part in (head, table, notes) if part)


def _value(value, ci) -> str:
    if value is None:
        return "-"
    return f"{value:.4g}" + (f" [{ci[0]:.3g}, {ci[1]:.3g}]" if ci else "")


def _delta(delta) -> str:
    if delta.base is None or delta.new is None:
        return "-"
    return f"{delta.new - delta.base:+.3g}"
