"""``bench data``: list the datasets, check a local copy, preview preprocessed samples.

``check`` exits 0 when every file is usable, 1 when some are not (the rest loads, the
problems are listed), 2 when nothing can be used. Files that resolve outside
``--data-root`` (links, listed absolute or ``../`` paths) are not opened without
``--follow-links``. Only the registry is imported at
start-up; numpy and the loaders load when a subcommand runs.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from bench.datasets import DATASETS

EPILOG = """examples:
  bench data list
  bench data check --dataset acdc --data-root /data/ACDC
  bench data check --dataset sunnybrook --data-root ../shared/data/sunnybrook-subset --json
  bench data preview --dataset cbis-ddsm --data-root /data/CBIS-DDSM --out cbis.png
"""


def add_parser(sub) -> argparse.ArgumentParser:
    parser = sub.add_parser(
        "data",
        help="list datasets, check a local copy, preview samples",
        description="Real datasets are read from local folders only; see docs/datasets.md.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    actions.add_parser("list", help="datasets, their layouts, licences and where to get them")
    for name, text in (("check", "validate a local copy"), ("preview", "grid of samples")):
        action = actions.add_parser(name, help=text)
        action.add_argument("--dataset", required=True, help="dataset name (bench data list)")
        action.add_argument("--data-root", type=Path, help="folder of the local copy")
        action.add_argument("--split", default=None, help="split to read (default: all)")
        action.add_argument(
            "--follow-links",
            action="store_true",
            help="also read files that resolve outside --data-root (links, absolute paths)",
        )
    check = actions.choices["check"]
    check.add_argument("--json", action="store_true", help="print the report as JSON")
    preview = actions.choices["preview"]
    preview.add_argument("--out", type=Path, required=True, help="PNG file to write")
    preview.add_argument("-n", type=int, default=16, help="number of samples (default 16)")
    return parser


def main(args: argparse.Namespace) -> int:
    from bench.datasets import load_plugins

    load_plugins()
    return {"list": list_datasets, "check": check_data, "preview": preview_data}[args.action](args)


def list_datasets(args: argparse.Namespace) -> int:
    for name in DATASETS:
        spec = DATASETS.get(name)
        where = "built in" if spec.builtin else "needs --data-root"
        print(f"{name} ({spec.modality}, {where}): {spec.description}")
        print(f"  variants: {', '.join(spec.variants)}")
        print(f"  layout:   {spec.layout}")
        print(f"  licence:  {spec.licence}")
        if spec.url:
            print(f"  get it:   {spec.url}")
    return 0


def check_data(args: argparse.Namespace) -> int:
    from bench.datasets.checking import check

    report = check(
        args.dataset, args.data_root, args.split or "all", follow_links=args.follow_links
    )
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        _print_report(report)
    if not report.usable:
        return 2
    return 1 if report.problems else 0


def _print_report(report) -> None:
    labels = ", ".join(f"{k} {v}" for k, v in report.labels.items())
    print(f"{report.dataset} at {report.root} (split {report.variant})")
    print(f"  subjects: {report.subjects}  samples: {report.samples}  labels: {labels}")
    print(f"  content hash: {report.content_hash}")
    for note in report.notes:
        print(f"  note: {note}")
    print(f"  problems: {len(report.problems)}")
    for problem in report.problems:
        print(f"    {problem}")
    verdict = "usable" if report.usable else "NOT usable: no sample could be read"
    print(f"  -> {verdict}" + (" with the problems above" if report.problems else ""))


def preview_data(args: argparse.Namespace) -> int:
    from bench.datasets.loading import load
    from bench.datasets.preview import preview

    spec = DATASETS.get(args.dataset)
    kwargs = {"n": args.n} if spec.builtin else {"follow_links": args.follow_links}
    data = load(args.dataset, args.split, args.data_root, **kwargs)
    title = f"{args.dataset} ({data.provenance.variant}): {len(data)} samples"
    path = preview(data, args.out, n=args.n, title=title)
    print(f"wrote {path} ({min(args.n, len(data))} of {len(data)} samples)")
    return 0
