#!/usr/bin/env bash
# Run the reference methods of every board and submit them as baselines.
#
# usage: scripts/submit_baselines.sh [small|paper] [OUT_DIR]
#
#   small  (default) CPU: the task's default epsilon grid, seeds 0,1,2, on the built-in
#          phantoms. On the shared 2-core CPU, cold cache (Dec 2026, docs/leaderboards.md):
#          recon-attack 25 min (load 4-10), mammo-cls 2 h 1 min (load 3-8), cardiac-ldm
#          1 h 41 min (--jobs 2, load 3-5).
#   paper  the seed papers' sizes and schedules; needs CUDA and refuses to start without.
#
# Every task folder leaderboards/<task>/cards/ holds one method card per reference method
# (<method>.yaml); the methods run are exactly those cards. A finished cell is never
# recomputed (re-running resumes), each card's records are validated and submitted with
# --replace, and the board is rendered. Commit leaderboards/ afterwards.
#
# Environment: BENCH (default: "python -m bench"), SEEDS (default 0,1,2), TASKS (default:
# every task with a cards/ folder), ROOT (default: leaderboards).
set -euo pipefail

profile="${1:-small}"
out="${2:-runs/baselines-${profile}}"
bench="${BENCH:-python -m bench}"
seeds="${SEEDS:-0,1,2}"
root="${ROOT:-leaderboards}"

case "$profile" in
  small) ;;
  paper)
    python -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)' || {
      echo "submit_baselines: the paper profile needs a GPU (CUDA is not available)" >&2
      exit 2
    } ;;
  *) echo "submit_baselines: profile must be small or paper, not '$profile'" >&2; exit 2 ;;
esac

tasks="${TASKS:-$(for d in "$root"/*/cards; do [ -d "$d" ] && basename "$(dirname "$d")"; done)}"
for task in $tasks; do
  cards=("$root/$task"/cards/*.yaml)
  methods=$(for c in "${cards[@]}"; do basename "$c" .yaml; done | paste -sd, -)
  echo "== $task: $methods ($profile profile, seeds $seeds) -> $out"
  # bench run exits 1 when a cell failed; submit below then names what is missing.
  $bench run --task "$task" --profile "$profile" --seeds "$seeds" --methods "$methods" \
    --out "$out" || echo "submit_baselines: some $task cells failed" >&2
  for card in "${cards[@]}"; do
    $bench leaderboard submit "$out" --card "$card" --root "$root" --replace
  done
  $bench leaderboard render --task "$task" --root "$root"
done
