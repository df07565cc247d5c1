"""``bench run``: run a task's grid of (method x epsilon x seed) cells, resuming."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bench.cli.args import path_arg
from bench.config import PROFILES, check_profile
from bench.errors import BenchError
from bench.privacy.budget import ACCOUNTANTS, parse_epsilons
from bench.tasks import get_task

EPILOG = """examples:
  bench run --task recon-attack --eps 1,10,inf
  bench run --task recon-attack --eps 1,3,10 --methods prior-free --seeds 0,1,2 --profile smoke
  bench run --task recon-attack --set trials=1000 --out runs/more-trials
  bench run --task recon-attack --data sunnybrook --data-root DIR --profile smoke
  bench run --task mammo-cls --delta 1e-4 --eps 1,6,inf
  bench run --task mammo-cls --eps 1,10 --jobs 2

Re-running the same command skips finished cells; --overwrite recomputes them.
"""


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "run",
        help="run a task's epsilon grid",
        epilog=EPILOG,
        description="Run every (method, epsilon, seed) cell of a task that has "
        "no finished record, then print and save the summary.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--task", required=True, help="task id (see bench list)")
    p.add_argument(
        "--eps", help="comma-separated epsilons, 'inf' = non-private (default: the task's grid)"
    )
    p.add_argument("--methods", help="comma-separated methods (default: the task's)")
    p.add_argument("--seeds", help="comma-separated integer seeds (default: the task's)")
    p.add_argument(
        "--profile",
        choices=PROFILES,
        help="smoke | small | paper (default: paper with CUDA, small without)",
    )
    p.add_argument(
        "--data",
        default="phantom",
        help="dataset name, or 'phantom' for the task's built-in phantoms (default)",
    )
    p.add_argument("--data-root", type=path_arg, help="folder of a real dataset")
    p.add_argument(
        "--public-data",
        help="dataset declared public (pre-training; recorded beside --data), or 'phantom'",
    )
    p.add_argument("--public-data-root", type=path_arg, help="folder of the public dataset")
    p.add_argument(
        "--external-data",
        help="dataset of an external test site, for tasks that have one (mammo-cls)",
    )
    p.add_argument("--external-data-root", type=path_arg, help="folder of the external dataset")
    p.add_argument(
        "--follow-links",
        action="store_true",
        help="also read data files that resolve outside their --*data-root (links, absolute paths)",
    )
    p.add_argument("--out", type=path_arg, default=Path("runs"), help="results folder (runs/)")
    p.add_argument("--overwrite", action="store_true", help="recompute finished cells")
    p.add_argument("--launcher", choices=("local", "submitit"), default="local")
    p.add_argument(
        "--jobs",
        type=int,
        help="cells run at once by the local launcher, each in its own process (default: "
        "what the machine holds, from its cores and memory; stated at the start)",
    )
    p.add_argument("--device", help="cpu | cuda | cuda:N (default: cuda when available)")
    p.add_argument(
        "--accountant",
        choices=ACCOUNTANTS,
        default="prv",
        help="accountant of the reported guarantee; the other one cross-checks",
    )
    p.add_argument(
        "--delta",
        type=float,
        help="delta of every cell (default: the task's, see bench list); keep it well "
        "below 1/N of the private training set",
    )
    p.add_argument(
        "--secure-rng",
        action="store_true",
        help="draw DP noise and sampling from opacus's cryptographically secure generator "
        "(needs torchcsprng; such noise cannot be seeded, so cells are not reproducible)",
    )
    p.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch/BLAS threads per CPU cell (default 1, fastest for the small models on a "
        "shared CPU; 0 = torch's default)",
    )
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a method setting, dotted keys for nested ones (autoencoder.epochs=3), "
        "protocol.KEY for a task protocol setting (recorded; repeatable)",
    )
    return p


def parse_list(text: str | None, default: tuple, kind: str, convert=str) -> tuple:
    """Parse a comma-separated flag, or return ``default`` when it was not given."""
    if text is None:
        return default
    items = [item.strip() for item in text.split(",")]
    if not all(items):
        raise BenchError(f"bad {kind} list {text!r}")
    try:
        return tuple(dict.fromkeys(convert(item) for item in items))
    except ValueError:
        raise BenchError(f"bad {kind} list {text!r}") from None


def parse_overrides(items: list[str]) -> dict[str, str]:
    pairs = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise BenchError(f"bad --set {item!r}: expected KEY=VALUE")
        pairs[key.strip()] = value.strip()
    return pairs


def resolve_device(text: str | None) -> str:
    import torch

    if text is None:
        return "cuda" if torch.cuda.is_available() else "cpu"
    if text.startswith("cuda") and not torch.cuda.is_available():
        raise BenchError(f"--device {text} asked for, but CUDA is not available here")
    if text != "cpu" and not text.startswith("cuda"):
        raise BenchError(f"bad --device {text!r}: expected cpu, cuda or cuda:N")
    return text


def build_request(args: argparse.Namespace):
    from bench.config import default_profile
    from bench.runner import RunRequest

    task = get_task(args.task)
    dataset = task.datasets[0] if args.data == "phantom" else args.data
    public = args.public_data
    if public == "phantom":  # the phantom of the private data's modality
        from bench.datasets import DATASETS, phantom_for

        public = phantom_for(DATASETS.get(dataset).modality)
    return RunRequest(
        task=task.name,
        epsilons=parse_epsilons(args.eps) if args.eps is not None else task.default_eps,
        methods=parse_list(args.methods, task.default_methods, "method"),
        seeds=parse_list(args.seeds, task.default_seeds, "seed", int),
        profile=check_profile(args.profile) if args.profile else default_profile(),
        dataset=dataset,
        data_root=args.data_root,
        public_dataset=public,
        public_data_root=args.public_data_root,
        external_dataset=args.external_data,
        external_data_root=args.external_data_root,
        out=args.out,
        device=resolve_device(args.device),
        accountant=args.accountant,
        overwrite=args.overwrite,
        overrides=parse_overrides(args.overrides),
        threads=_threads(args.threads),
        delta=args.delta,
        secure_rng=args.secure_rng,
    )


def _threads(count: int) -> int:
    if count < 0:
        raise BenchError(f"bad --threads {count}: expected 0 (torch's default) or more")
    return count


def _launcher_params(args: argparse.Namespace) -> dict:
    if args.jobs is None:
        return {}
    if args.launcher != "local":
        raise BenchError("--jobs is for --launcher local (submitit runs one job per cell)")
    if args.jobs < 1:
        raise BenchError(f"bad --jobs {args.jobs}: expected 1 or more")
    return {"jobs": args.jobs}


def main(args: argparse.Namespace) -> int:
    from bench.api import run
    from bench.datasets.real.paths import set_follow_links

    set_follow_links(args.follow_links)  # the loaders' default, in this process and its jobs
    request = build_request(args)
    result = run(request, launcher=args.launcher, **_launcher_params(args))
    if result.table:
        print(result.table)
        print(f"\n(saved {result.summary_dir}/summary.md, summary.csv, summary.png)")
    for status in result.failed:
        print(f"bench: cell {status.cell.label} failed: {status.error}", file=sys.stderr)
    return 1 if result.failed else 0
