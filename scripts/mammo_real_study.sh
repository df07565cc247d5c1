#!/bin/bash
# Study B on its own real data: every run of docs/mammo-cls.md's side-by-side table.
#
# usage: scripts/mammo_real_study.sh [OUT] [--full]
#   OUT     results folder (default runs/mammo-real); re-running resumes it
#   --full  every run on study B's whole grid (eps 1, 6, 12, 20, 60, inf x seeds 0-2),
#           where the CPU table reduced it (below); hours on 2 cores, for a bigger machine
# env: PATCHES (default ../shared/data/mammo-dp-patches), JOBS (default: bench's choice)
#
# Two CPU settings, both the small profile (64 x 64) with SimCLR on the public phantoms for
# 10 epochs, the backbone frozen and the MLP head trained with DP-SGD for 100 epochs
# (docs/mammo-cls.md, "The CPU setting and what was tried"):
#   vit     the task's ViT: every regime and every synthetic source
#   resnet  the GroupNorm ResNet (backbone=resnet-gn), the better reference: real only on
#           the whole grid, the published set's regimes at eps 1, 6, inf
# Three synthetic sources:
#   published   study B's published set (its GAN saw the training patients without DP:
#               the records claim no epsilon)
#   public GAN  the suite's GAN trained on the public phantoms (no budget)
#   DP GAN      the GAN's discriminator trained with DP-SGD on the real training patches,
#               half the budget, composed with the classifier's by the ledger; its last
#               snapshot is kept (selecting by FID to the public phantoms would judge a
#               GAN of real patches by how phantom-like it is)
set -euo pipefail
OUT=runs/mammo-real
FULL=
for arg in "$@"; do
  case $arg in
    --full) FULL=1 ;;
    -*) echo "mammo_real_study.sh: unknown option $arg" >&2; exit 2 ;;
    *) OUT=$arg ;;
  esac
done
PATCHES=${PATCHES:-../shared/data/mammo-dp-patches}
ALL=1,6,12,20,60,inf
REDUCED=${FULL:+$ALL}; REDUCED=${REDUCED:-1,6,inf}
DP_GAN_EPS=${FULL:+1,6,12,20,60}; DP_GAN_EPS=${DP_GAN_EPS:-6}
BASE=(--task mammo-cls --data mammo-png --data-root "$PATCHES/cbis-ddsm" --seeds 0,1,2
      --set pretrain_epochs=10 --set train=head --set epochs=100 ${JOBS:+--jobs $JOBS})
RESNET=(--set backbone=resnet-gn)
PUBLISHED=(--set gan_source=published --set synthetic_root="$PATCHES/synthetic-c-dcgan")
SYNTHETIC=dp-vit-real+syn,dp-vit-synpre

# ViT: real only and the published set on the whole grid
bench run "${BASE[@]}" --out "$OUT/vit-published" "${PUBLISHED[@]}" \
    --methods dp-vit-real,$SYNTHETIC,vit-syn-only --eps $ALL
# ViT: the public GAN; the DP GAN (one GAN per cell: the grid's dearest part)
bench run "${BASE[@]}" --out "$OUT/vit-public-gan" --methods $SYNTHETIC --eps "$REDUCED"
bench run "${BASE[@]}" --out "$OUT/vit-public-gan" --methods vit-syn-only --eps inf
bench run "${BASE[@]}" --out "$OUT/vit-dp-gan" --methods $SYNTHETIC --eps "$DP_GAN_EPS" \
    --set gan_source=private-dp --set gan_select_every=0
# GroupNorm ResNet: real only on the whole grid, the published set
bench run "${BASE[@]}" "${RESNET[@]}" --out "$OUT/resnet" --methods dp-vit-real --eps $ALL
bench run "${BASE[@]}" "${RESNET[@]}" --out "$OUT/resnet" "${PUBLISHED[@]}" \
    --methods $SYNTHETIC --eps "$REDUCED"
bench run "${BASE[@]}" "${RESNET[@]}" --out "$OUT/resnet" "${PUBLISHED[@]}" \
    --methods vit-syn-only --eps inf

python scripts/mammo_real_table.py "$OUT"/vit-published "$OUT"/vit-public-gan \
    "$OUT"/vit-dp-gan "$OUT"/resnet
