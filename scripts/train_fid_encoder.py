"""Train the offline FID feature extractor ``phantom-encoder-v1`` on public phantom data.

    python scripts/train_fid_encoder.py  # writes bench/metrics/weights/phantom_encoder_v1.pt

The encoder (``bench.metrics.extractors.phantom_encoder``) learns a 4-way task on public
images only: mammography patches (benign / malignant, ``public`` variant) and central
short-axis slices of cardiac volumes (end-diastole / end-systole, ``public`` variant),
so that its features respond to the structures both tasks generate (mass shape and
margin, parenchymal texture, blood pool and myocardium). Its 128-d pooled activations
are the FID features; the classification layer is discarded.

Deterministic on one CPU thread for a given torch version. After retraining, pin the
printed SHA-256 in ``bench/metrics/extractors.py`` and bump the extractor version: FIDs
of different weights are not comparable.
"""

from __future__ import annotations

import argparse
import hashlib
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from bench.datasets.phantoms.cardiac import ATTRIBUTES, make_cardiac
from bench.datasets.phantoms.mammo import make_mammo
from bench.metrics.extractors import (
    ENCODER_FEATURES,
    ENCODER_INPUT,
    PHANTOM_ENCODER_FILE,
    phantom_encoder,
)

SLICES = 5  # central slices per cardiac volume


def public_images(n_mammo: int, n_cardiac: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(n, 64, 64) public images in [0, 1] and 4-way labels (mammo 0/1, cardiac 2/3)."""
    mammo = make_mammo(n_mammo, "public", size=ENCODER_INPUT, seed=seed)
    cardiac = make_cardiac(n_cardiac, "public", shape=(13, ENCODER_INPUT, ENCODER_INPUT), seed=seed)
    lo = (cardiac.images.shape[1] - SLICES) // 2
    slices = cardiac.images[:, lo : lo + SLICES].reshape(-1, ENCODER_INPUT, ENCODER_INPUT)
    phase = cardiac.attributes[:, ATTRIBUTES.index("ESED")].astype(np.int64)
    images = np.concatenate([mammo.images, slices]).astype(np.float32)
    labels = np.concatenate([mammo.labels, 2 + np.repeat(phase, SLICES)])
    return images, labels


def train(images: np.ndarray, labels: np.ndarray, epochs: int, seed: int) -> nn.Module:
    """The encoder after supervised training with flips (Adam, fixed schedule)."""
    torch.manual_seed(seed)
    encoder = phantom_encoder()
    model = nn.Sequential(encoder, nn.Linear(ENCODER_FEATURES, 4))
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    x = torch.from_numpy(images)[:, None] * 2 - 1
    y = torch.from_numpy(labels)
    for epoch in range(epochs):
        order, total = torch.randperm(len(x)), 0.0
        for idx in order.split(64):
            xb = x[idx]
            xb = torch.where(torch.rand(len(idx), 1, 1, 1) < 0.5, xb.flip(-1), xb)
            loss = F.cross_entropy(model(xb), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss) * len(idx)
        print(f"epoch {epoch + 1}/{epochs}: loss {total / len(x):.4f}", flush=True)
    return encoder.eval()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=PHANTOM_ENCODER_FILE)
    parser.add_argument("--mammo", type=int, default=3000, help="public mammography patches")
    parser.add_argument("--cardiac", type=int, default=400, help="public cardiac volumes")
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    start = time.perf_counter()
    images, labels = public_images(args.mammo, args.cardiac, args.seed)
    print(f"{len(images)} public images ({np.bincount(labels).tolist()} per class)")
    encoder = train(images, labels, args.epochs, args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.contiguous() for k, v in encoder.state_dict().items()}
    torch.save(state, args.out)
    digest = hashlib.sha256(args.out.read_bytes()).hexdigest()
    print(
        f"wrote {args.out} ({args.out.stat().st_size} bytes) in {time.perf_counter() - start:.0f} s"
    )
    print(f"SHA-256 {digest}: pin it as PHANTOM_ENCODER_SHA256 in bench/metrics/extractors.py")


if __name__ == "__main__":
    main()
