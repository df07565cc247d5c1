"""Print the markdown tables the task docs quote from a committed leaderboard.

usage: python scripts/board_tables.py TASK [--root leaderboards] [--seed 0]

The docs' "Measured results" tables (docs/cardiac-ldm.md, docs/mammo-cls.md) are pasted
from this script's output, so that every number in them is one the committed board holds:
a table of one seed and a table of mean +- population std over the board's seeds (the
suite's convention, bench/summary.py), per method and epsilon. Run it after regenerating
a board (scripts/submit_baselines.sh) and paste what it prints.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from bench.leaderboard.submission import load_submissions
from bench.summary import aggregate, records_frame
from bench.summary_format import fmt, fmt_epsilon, fmt_std


def num(value) -> str:
    """A metric as the docs print it: 3 decimals below 1 in magnitude (AUROC, r), else 3
    significant digits (FID)."""
    if value is not None and math.isfinite(value) and abs(value) < 1:
        return f"{value:.3f}"
    return fmt(value)


# (column title, metric key) per task; the privacy columns come from the privacy block.
METRICS = {
    "cardiac-ldm": [
        ("FID", "fid"),
        ("3D FID", "fid_3d"),
        ("MS-SSIM", "msssim_generated"),
        ("LV volume r", "lv_volume_r"),
        ("myo thickness r", "myo_thickness_r"),
        ("RV volume r", "rv_volume_r"),
        ("cycle accuracy", "cycle_accuracy"),
    ],
    "mammo-cls": [
        ("AUROC internal", "auroc_internal"),
        ("AUROC external", "auroc_external"),
        ("AUPRC internal", "auprc_internal"),
        ("accuracy", "accuracy_internal"),
    ],
}


def load(root: Path, task: str) -> list[dict]:
    """Every record of the board's submissions, validated as the board validates them."""
    return [record for sub in load_submissions(root, task) for record in sub.records]


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _head(cells: list[str]) -> list[str]:
    return [_row(cells), "|" + "---|" * len(cells)]


def seed_table(records: list[dict], metrics, seed: int) -> list[str]:
    lines = _head(["method", "epsilon", *(t for t, _ in metrics), "achieved eps", "sigma"])
    frame = records_frame(records)
    for _, r in frame[frame["seed"] == seed].sort_values(["method", "epsilon"]).iterrows():
        achieved = r["achieved_epsilon"]
        row = [r["method"], fmt_epsilon(r["epsilon"]), *(num(r.get(k)) for _, k in metrics)]
        private = achieved is not None and math.isfinite(achieved) and achieved > 0
        row += [f"{achieved:.4f}" if private else "-"]
        lines.append(_row([*row, fmt(r["noise_multiplier"])]))
    return lines


def _mean_std(summary_row, key: str) -> str:
    mean = summary_row.get(f"{key}_mean")
    if mean is None or not math.isfinite(mean):
        return "-"
    return f"{num(mean)} +- {fmt_std(summary_row[f'{key}_std'])}"


def seeds_table(records: list[dict], metrics) -> list[str]:
    """Mean +- population std over seeds (bench.summary.aggregate, the suite's one)."""
    summary = aggregate(records_frame(records), tuple(k for _, k in metrics))
    seeds = records_frame(records).groupby(["method", "epsilon"])["seed"]
    listed = seeds.apply(lambda s: ",".join(str(v) for v in sorted(s)))
    lines = _head(["method", "epsilon", "seeds", *(t for t, _ in metrics)])
    for _, r in summary.iterrows():
        cells = [r["method"], fmt_epsilon(r["epsilon"]), listed[r["method"], r["epsilon"]]]
        lines.append(_row([*cells, *(_mean_std(r, k) for _, k in metrics)]))
    return lines


def wide_table(records: list[dict], title: str, key: str) -> list[str]:
    """One metric, mean +- std over seeds: a row per method, a column per epsilon."""
    summary = aggregate(records_frame(records), (key,)).set_index(["method", "epsilon"])
    epsilons = sorted(summary.index.get_level_values("epsilon").unique())
    lines = [f"{title}:", "", *_head(["method", *(f"eps {fmt_epsilon(e)}" for e in epsilons)])]
    for method in sorted(summary.index.get_level_values("method").unique()):
        row = [method]
        for eps in epsilons:
            row.append(
                _mean_std(summary.loc[method, eps], key) if (method, eps) in summary.index else ""
            )
        lines.append(_row(row))
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("task", choices=sorted(METRICS))
    parser.add_argument("--root", type=Path, default=Path("leaderboards"))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    records = load(args.root, args.task)
    if not records:
        print(f"board_tables: no submissions under {args.root / args.task}", file=sys.stderr)
        return 2
    metrics = METRICS[args.task]
    commits = sorted({r["code"].get("git_commit", "?")[:7] for r in records})
    print(
        f"<!-- scripts/board_tables.py {args.task}: records of commit(s) {', '.join(commits)} -->"
    )
    print(f"Seed {args.seed}:\n")
    print("\n".join(seed_table(records, metrics, args.seed)))
    print("\nMean +- population std over seeds:\n")
    print("\n".join(seeds_table(records, metrics)))
    print()
    print("\n".join(wide_table(records, *metrics[0])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
