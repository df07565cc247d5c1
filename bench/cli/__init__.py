"""The ``bench`` command line: a thin argparse layer over :mod:`bench.api`.

One module per subcommand, each with ``add_parser(subparsers)`` and ``main(args)``.
User errors print one line and exit with status 2; nothing heavy is imported until a
subcommand needs it, so ``bench --help`` and ``bench list`` start fast. The calculator
subcommands (:data:`LIGHT`) go further: named first, only their own parser is built, so
that the other subcommands' modules (pydantic, the task registry, the datasets, which
their parsers need for choices and help) are not imported at all.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from bench import __version__
from bench.errors import BenchError

#: The subcommands' modules (in bench.cli), in the order ``bench --help`` lists them.
SUBCOMMANDS = (
    "list_cmd",
    "run_cmd",
    "show_cmd",
    "privacy_cmd",
    "risk_cmd",
    "data_cmd",
    "leaderboard_cmd",
    "compare_cmd",
    "audit_cmd",
)
#: Subcommands whose parser is built alone when the command line names them (the
#: calculator: its answer should take a fraction of a second, imports included).
LIGHT = {"privacy": "privacy_cmd", "risk": "risk_cmd"}
EPILOG = """examples:
  bench list
  bench run --task recon-attack --eps 1,10,inf
  bench run --task recon-attack --data sunnybrook --data-root DIR --profile smoke
  bench data check --dataset acdc --data-root DIR
  bench show runs/
  bench privacy --sigma 1.5 --sample-rate 0.04 --steps 2250 --delta 1e-5 --accountant rdp
  bench risk --epsilon 8 --delta 1e-5 --dim 1024 --mse-threshold 0.01 --prior-size 10
  bench leaderboard submit runs/ --card my-method.yaml && bench leaderboard render
  bench compare runs/baseline runs/new --tolerance success_empirical=0.02
"""


class OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line, like every other user error."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser(only: tuple[str, ...] | None = None) -> argparse.ArgumentParser:
    """The ``bench`` parser; ``only`` (module names) restricts the subcommands it knows."""
    parser = OneLineParser(
        prog="bench",
        description="PrivMedBench: privacy-preserving deep learning benchmarks "
        "for medical imaging.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"privmedbench {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", parser_class=OneLineParser
    )
    for name in only or SUBCOMMANDS:
        module = importlib.import_module(f"bench.cli.{name}")
        module.add_parser(sub).set_defaults(handler=module.main)
    return parser


def _light_command(argv: list[str]) -> tuple[str, ...] | None:
    """``(module,)`` when ``argv`` names a :data:`LIGHT` subcommand before any other
    top-level token than ``-v`` (so ``bench --help`` and ``bench -h risk`` still list
    every subcommand), else ``None``."""
    for token in argv:
        if token not in ("-v", "--verbose"):
            return (LIGHT[token],) if token in LIGHT else None
    return None


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``bench`` console script; returns the exit status."""
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(_light_command(argv)).parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args.handler(args) or 0)
    except BenchError as exc:
        print(f"bench: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("bench: interrupted; finished cells are kept, re-run to resume", file=sys.stderr)
        return 130
