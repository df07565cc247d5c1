#!/bin/bash
# Study B on its own real data: every run of docs/mammo-cls.md's side-by-side table.
#
# usage: scripts/mammo_real_study.sh [OUT] [DP_GAN_EPS]
#   OUT         results folder (default runs/mammo-real); re-running resumes it
#   DP_GAN_EPS  the epsilons of the DP-GAN runs (default 6: one DP GAN per cell is the
#               grid's dearest part on a CPU; "1,6,12,20,60" for study B's whole grid)
# env: PATCHES (default ../shared/data/mammo-dp-patches), JOBS (default: bench's choice)
#
# The CPU reference setting of the real data (docs/mammo-cls.md, "The CPU setting"):
# the small profile (64 x 64) with SimCLR on the public phantoms for 10 epochs, the
# backbone frozen, the MLP head trained with DP-SGD for 100 epochs. Three synthetic
# sources for the three synthetic regimes:
#   published   study B's published set (its GAN saw the training patients without DP:
#               the records claim no epsilon)
#   public GAN  the suite's GAN trained on the public phantoms (no budget)
#   DP GAN      the GAN's discriminator trained with DP-SGD on the real training patches,
#               half the budget, composed with the classifier's by the ledger; its last
#               snapshot is kept (selecting by FID to the public phantoms would judge a
#               GAN of real patches by how phantom-like it is)
set -euo pipefail
OUT=${1:-runs/mammo-real}
DP_GAN_EPS=${2:-6}
PATCHES=${PATCHES:-../shared/data/mammo-dp-patches}
JOBS=${JOBS:+--jobs $JOBS}
COMMON=(--task mammo-cls --data mammo-png --data-root "$PATCHES/cbis-ddsm" --seeds 0,1,2
        --set pretrain_epochs=10 --set train=head --set epochs=100 $JOBS)
SYNTHETIC=dp-vit-real+syn,dp-vit-synpre,vit-syn-only

bench run "${COMMON[@]}" --methods dp-vit-real,$SYNTHETIC --out "$OUT/published" \
    --set gan_source=published --set synthetic_root="$PATCHES/synthetic-c-dcgan"
bench run "${COMMON[@]}" --methods $SYNTHETIC --out "$OUT/public-gan"
bench run "${COMMON[@]}" --methods dp-vit-real+syn,dp-vit-synpre --eps "$DP_GAN_EPS" \
    --out "$OUT/dp-gan" --set gan_source=private-dp --set gan_select_every=0

python scripts/mammo_real_table.py published="$OUT/published" "public GAN=$OUT/public-gan" \
    "DP GAN=$OUT/dp-gan"
