"""``bench leaderboard submit|render|check``: method submissions and the rendered boards."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bench.cli.args import path_arg
from bench.errors import BenchError

EPILOG = """examples:
  bench leaderboard submit runs/ --card my-method.yaml
  bench leaderboard render
  bench leaderboard render --task recon-attack --format html --out site/
  bench leaderboard check

Rules, card fields and every check: docs/leaderboards.md.
"""


def add_parser(sub) -> argparse.ArgumentParser:
    parser = sub.add_parser(
        "leaderboard",
        help="submit a method's records to a board; render and check the boards",
        description="Leaderboards are generated from submissions (a method card plus the "
        "method's records); never edit a rendered board by hand.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    submit = actions.add_parser("submit", help="validate a run and write its submission")
    submit.add_argument(
        "run_dir", type=path_arg, metavar="RUN_DIR", help="a bench run --out folder"
    )
    submit.add_argument("--card", type=path_arg, required=True, help="method card (YAML or JSON)")
    submit.add_argument("--replace", action="store_true", help="replace an earlier submission")
    submit.add_argument(
        "--allow-smoke",
        action="store_true",
        help="accept a smoke-profile run (pipeline checks; never ranked on the main board)",
    )
    render = actions.add_parser("render", help="regenerate boards from their submissions")
    render.add_argument("--task", help="one task (default: every board under --root)")
    render.add_argument("--format", choices=("markdown", "html"), default="markdown")
    render.add_argument("--out", type=path_arg, help="write here instead of in --root")
    check = actions.add_parser("check", help="re-validate submissions; fail on stale boards")
    check.add_argument("--task", help="one task (default: every board under --root)")
    verify = actions.add_parser(
        "verify",
        help="re-run sampled cells of a submission and compare with its records",
        description="Re-run K cells of a submission from the installed method code "
        "(reference or plug-in) and compare: exactly on the device type the records were "
        "made on, metrics within --tolerance on another. Writes <submission>.verify.json "
        "beside it; exit 0 when reproduced, 1 when not.",
    )
    verify.add_argument("submission", type=path_arg, metavar="SUBMISSION", help="a .json file")
    verify.add_argument("--cells", type=int, default=1, help="cells to re-run (default 1)")
    verify.add_argument("--seed", type=int, default=0, help="seed of the cell draw (default 0)")
    verify.add_argument("--device", default="cpu", help="cpu | cuda | cuda:N (default cpu)")
    verify.add_argument("--data-root", type=path_arg, help="folder of a real dataset's records")
    verify.add_argument(
        "--tolerance",
        type=float,
        default=0.02,
        help="per-metric absolute tolerance on another device type (default 0.02)",
    )
    for action in (submit, render, check):
        action.add_argument(
            "--root", type=path_arg, default=Path("leaderboards"), help="leaderboards folder"
        )
    return parser


def main(args: argparse.Namespace) -> int:
    handlers = {"submit": _submit, "render": _render, "check": _check, "verify": _verify}
    return handlers[args.action](args)


def _submit(args: argparse.Namespace) -> int:
    from bench.leaderboard.submission import submit

    path = submit(
        args.run_dir, args.card, args.root, replace=args.replace, allow_smoke=args.allow_smoke
    )
    print(f"submitted {path}; now run: bench leaderboard render --task {path.parent.parent.name}")
    return 0


def _render(args: argparse.Namespace) -> int:
    from bench.leaderboard.render import board_tasks, render_task

    for task in [args.task] if args.task else board_tasks(args.root):
        for path in render_task(args.root, task, args.format, args.out):
            print(f"wrote {path}")
    return 0


def _check(args: argparse.Namespace) -> int:
    from bench.leaderboard.render import board_tasks, stale_files

    stale = []
    tasks = [args.task] if args.task else board_tasks(args.root)
    for task in tasks:
        stale += stale_files(args.root, task)
    for path in stale:
        print(f"bench: out of date: {path} (run: bench leaderboard render)", file=sys.stderr)
    if not stale:
        print(f"{len(tasks)} board(s) checked: every submission is valid, every board up to date")
    return 1 if stale else 0


def _verify(args: argparse.Namespace) -> int:
    import functools

    from bench.launchers.local import inner_progress
    from bench.leaderboard.verify import verification_path, verify_submission

    if not args.tolerance >= 0:
        raise BenchError(f"bad --tolerance {args.tolerance}: expected a number >= 0")
    result = verify_submission(
        args.submission,
        cells=args.cells,
        seed=args.seed,
        device=args.device,
        data_root=args.data_root,
        tolerance=args.tolerance,
        progress=functools.partial(inner_progress, desc="re-run"),
    )
    for cell in result.cells:
        state = "reproduced" if cell.reproduced else "DIFFERS"
        print(f"  {cell.label}: {state} ({cell.comparison}, {cell.seconds:g} s)")
        for line in cell.differences:
            print(f"    {line}")
    print(result.summary_line())
    print(f"(wrote {verification_path(args.submission)})", file=sys.stderr)
    return 0 if result.reproduced else 1
