"""Print study B's table beside the suite's numbers on the same real patches.

usage: python scripts/mammo_real_table.py RUNS_DIR [RUNS_DIR ...] [--metric KEY]

Each RUNS_DIR is the ``--out`` folder of a ``bench run --task mammo-cls`` on study B's
CBIS-DDSM patches (``scripts/mammo_real_study.sh`` makes them). A suite row is one
setting, named from the records' own configs (backbone, pre-training, what DP-SGD
trains, the synthetic source). Its cells are mean +- population std over the seeds found
(the suite's convention, ``bench.summary``), with the number of seeds when it is not 3; a
cell whose records claim no epsilon (study B's published set, whose GAN saw the training
patients without DP) is marked "no eps".
docs/mammo-cls.md pastes this script's output, so its numbers are the records'.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from board_tables import num  # scripts/ is on sys.path when run as a script

from bench.records import iter_records
from bench.summary import aggregate, records_frame

EPSILONS = (math.inf, 1.0, 6.0, 12.0, 20.0, 60.0)  # study B's column order
REGIMES = {
    "dp-vit-real": "real only",
    "dp-vit-real+syn": "real + synthetic (DP over the union)",
    "vit-syn-only": "synthetic only",
    "dp-vit-synpre": "synthetic pre-training -> DP fine-tuning",
}
# Study B (Osuala et al. 2024, arXiv 2407.12669), internal CBIS-DDSM test AUROC, mean +-
# population std over 3 seeds, frozen ImageNet Swin-T + head at 128 x 128: literature
# values quoted for comparison, not results of this suite.
STUDY_B = {
    "dp-vit-real": {
        math.inf: "0.778 +- 0.001", 1.0: "0.525 +- 0.043", 6.0: "0.572 +- 0.031",
        12.0: "0.596 +- 0.023", 20.0: "0.611 +- 0.018", 60.0: "0.622 +- 0.014",
    },
    "dp-vit-real+syn": {
        math.inf: "0.774 +- 0.003", 1.0: "0.553 +- 0.040", 6.0: "0.617 +- 0.013",
        12.0: "0.624 +- 0.010", 20.0: "0.630 +- 0.003", 60.0: "0.629 +- 0.002",
    },
    "vit-syn-only": {math.inf: "0.639 +- 0.016"},
    "dp-vit-synpre": {
        1.0: "0.661 +- 0.018", 6.0: "0.677 +- 0.014", 12.0: "0.688 +- 0.012",
        20.0: "0.697 +- 0.012", 60.0: "0.712 +- 0.013",
    },
}  # fmt: skip


def _cell(row, key: str, no_epsilon: bool) -> str:
    """``mean +- std``, the seed count when not 3, and "no eps" for a voided epsilon."""
    mean = row.get(f"{key}_mean")
    if mean is None or not math.isfinite(mean):
        return ""
    n = int(row["seeds"])
    spread = f" +- {row[f'{key}_std']:.3f}" if n > 1 else ""  # study B's 3 decimals
    seeds = "" if n == 3 else f" ({n} seed{'s' if n > 1 else ''})"
    note = " no eps" if no_epsilon else ""
    return f"{num(mean)}{spread}{seeds}{note}"


_SOURCES = {"published": "published set", "public": "public GAN", "private-dp": "DP GAN"}


def setting(record: dict) -> str:
    """The classifier setting of a record, from its own config: backbone, pre-training,
    what DP-SGD trains; and, for the synthetic regimes, the synthetic source."""
    c = record["config"]
    backbone = {"vit": "ViT", "resnet-gn": "GN ResNet", "swin-t": "Swin-T"}[c["backbone"]]
    pretrain = f"{c['pretrain']} {c['pretrain_epochs']} ep" if c["pretrain"] != "none" else ""
    trained = f"head {c['epochs']} ep" if c["train"] == "head" else f"full {c['epochs']} ep"
    text = ", ".join(part for part in (backbone, pretrain, trained) if part)
    if record["method"] != "dp-vit-real":
        text += f"; {_SOURCES[c['gan_source']]}"
    return text


def _private_gan(method: str, group: list[dict]) -> bool:
    return method != "vit-syn-only" or group[0]["config"]["gan_source"] == "private-dp"


def table(records: list[dict], key: str) -> list[str]:
    """Rows: per regime, study B, then each suite setting; columns: study B's epsilons."""
    head = ["regime", "who", *(f"eps {'inf' if math.isinf(e) else f'{e:g}'}" for e in EPSILONS)]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for method, regime in REGIMES.items():
        if key == "auroc_internal":
            paper = [STUDY_B[method].get(e, "") for e in EPSILONS]
            lines.append(f"| {regime} | study B | " + " | ".join(paper) + " |")
        groups: dict[str, list[dict]] = {}
        for r in records:
            if r["method"] == method:
                groups.setdefault(setting(r), []).append(r)
        for label, group in sorted(groups.items()):
            summary = aggregate(records_frame(group), (key,)).set_index("epsilon")
            voided = {  # a finite target whose records claim no epsilon
                float(r["epsilon"])
                for r in group
                if r["epsilon"] != "inf" and r["privacy"].get("achieved_epsilon") is None
            }
            # without a DP GAN, vit-syn-only reads no private record: one model for every eps
            shown = EPSILONS if _private_gan(method, group) else (math.inf,)
            cells = [
                _cell(summary.loc[e], key, e in voided) if e in summary.index and e in shown else ""
                for e in EPSILONS
            ]
            if any(cells):
                lines.append(f"| {regime} | suite: {label} | " + " | ".join(cells) + " |")
    return lines


def _records(folder: str) -> list[dict]:
    if not Path(folder).is_dir():
        raise SystemExit(f"mammo_real_table: {folder} is not a folder")
    records = [r for r in iter_records(Path(folder)) if r["task"] == "mammo-cls"]
    if not records:
        raise SystemExit(f"mammo_real_table: no mammo-cls records under {folder}")
    return records


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", help="--out folders of bench run")
    parser.add_argument("--metric", default="auroc_internal")
    args = parser.parse_args(argv)
    records = [r for folder in args.runs for r in _records(folder)]
    commits = sorted({r["code"].get("git_commit", "?")[:7] for r in records})
    print(f"<!-- scripts/mammo_real_table.py ({args.metric}): commit(s) {', '.join(commits)} -->")
    print("\n".join(table(records, args.metric)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
