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
import json
import math
import statistics
import sys
from collections import defaultdict
from pathlib import Path

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


def load(root: Path, task: str) -> dict[tuple[str, float], dict[int, dict]]:
    """{(method, epsilon): {seed: record}} of every submission of ``task``."""
    cells: dict[tuple[str, float], dict[int, dict]] = defaultdict(dict)
    for path in sorted((root / task / "submissions").glob("*.json")):
        if path.name.endswith((".verify.json", ".audit.json")):
            continue
        for record in json.loads(path.read_text())["records"]:
            cells[record["method"], float(record["epsilon"])][record["seed"]] = record
    return cells


def seed_table(cells, metrics, seed: int) -> list[str]:
    head = ["method", "epsilon", *(t for t, _ in metrics), "achieved eps", "sigma"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for (method, eps), by_seed in sorted(cells.items()):
        if seed not in by_seed:
            continue
        record = by_seed[seed]
        privacy = record["privacy"]
        achieved = privacy.get("achieved_epsilon")
        row = [method, fmt_epsilon(eps), *(num(record["metrics"].get(k)) for _, k in metrics)]
        row += ["-" if achieved in (None, 0) else f"{achieved:.4f}"]
        row += [fmt(privacy.get("noise_multiplier"))]
        lines.append("| " + " | ".join(row) + " |")
    return lines


def seeds_table(cells, metrics) -> list[str]:
    head = ["method", "epsilon", "seeds", *(t for t, _ in metrics)]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for (method, eps), by_seed in sorted(cells.items()):
        row = [method, fmt_epsilon(eps), ",".join(str(s) for s in sorted(by_seed))]
        for _, key in metrics:
            values = [r["metrics"][key] for r in by_seed.values() if key in r["metrics"]]
            values = [v for v in values if v is not None and math.isfinite(v)]
            if not values:
                row.append("-")
                continue
            mean, std = statistics.fmean(values), statistics.pstdev(values)
            row.append(f"{num(mean)} +- {fmt_std(std)}")
        lines.append("| " + " | ".join(row) + " |")
    return lines


def wide_table(cells, title: str, key: str) -> list[str]:
    """One metric, mean +- std over seeds: a row per method, a column per epsilon."""
    epsilons = sorted({eps for _, eps in cells})
    head = ["method", *(f"eps {fmt_epsilon(e)}" for e in epsilons)]
    lines = [f"{title}:", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for method in sorted({m for m, _ in cells}):
        row = [method]
        for eps in epsilons:
            values = [r["metrics"][key] for r in cells.get((method, eps), {}).values()]
            if values:
                mean, std = statistics.fmean(values), statistics.pstdev(values)
                row.append(f"{num(mean)} +- {fmt_std(std)}")
            else:
                row.append("")
        lines.append("| " + " | ".join(row) + " |")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("task", choices=sorted(METRICS))
    parser.add_argument("--root", type=Path, default=Path("leaderboards"))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    cells = load(args.root, args.task)
    if not cells:
        print(f"board_tables: no submissions under {args.root / args.task}", file=sys.stderr)
        return 2
    metrics = METRICS[args.task]
    commits = sorted(
        {r["code"].get("git_commit", "?")[:7] for s in cells.values() for r in s.values()}
    )
    print(
        f"<!-- scripts/board_tables.py {args.task}: records of commit(s) {', '.join(commits)} -->"
    )
    print(f"Seed {args.seed}:\n")
    print("\n".join(seed_table(cells, metrics, args.seed)))
    print("\nMean +- population std over seeds:\n")
    print("\n".join(seeds_table(cells, metrics)))
    print()
    print("\n".join(wide_table(cells, *metrics[0])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
