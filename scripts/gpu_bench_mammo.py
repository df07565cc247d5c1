"""Benchmark paper-size mammo-cls training steps: DP vs non-private, samples/s, peak memory.

    python scripts/gpu_bench_mammo.py                       # CUDA, paper profile sizes
    python scripts/gpu_bench_mammo.py --device cpu --size small --steps 5
    python scripts/gpu_bench_mammo.py --json bench_mammo.json

Times a few training steps of (a) the ViT classifier (whole model; paper profile: 128 x 128
patches, width 192, depth 6, batch 128) and (b) the conditional GAN's discriminator
(paper: 128 x 128, width 64, batch 64 real + 64 fake), each non-private and with opacus
DP-SGD (per-sample gradients by hooks, clipping, noise). Every configuration runs in a
fresh child process so that its peak memory is its own: ``torch.cuda.max_memory_allocated``
on a GPU, the child's peak resident set size on a CPU. A whole run stays well under
10 minutes on one GPU; numbers go into docs/mammo-cls.md.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing as mp
import platform
import resource
import sys
import time

SIZES = {
    "paper": {
        "image": 128,
        "dim": 192,
        "depth": 6,
        "heads": 3,
        "patch": 16,
        "batch": 128,
        "gan_width": 64,
        "gan_batch": 64,
    },
    "small": {
        "image": 64,
        "dim": 64,
        "depth": 4,
        "heads": 4,
        "patch": 8,
        "batch": 128,
        "gan_width": 16,
        "gan_batch": 64,
    },
}


def _vit(size: dict):
    from classifiers.vit import VisionTransformer, ViTConfig

    config = ViTConfig(
        image_size=size["image"],
        patch_size=size["patch"],
        dim=size["dim"],
        depth=size["depth"],
        heads=size["heads"],
        stem="conv",
    )
    model = VisionTransformer(config)
    batch = size["batch"]
    x = lambda n: (torch_rand(n, 1, size["image"], size["image"]), torch_labels(n))  # noqa: E731
    return model, batch, x, lambda m, xb, yb: _ce(m(xb), yb)


def _gan(size: dict):
    from generators.cgan import CGANConfig, Discriminator

    model = Discriminator(CGANConfig(image_size=size["image"], width=size["gan_width"]))
    batch = 2 * size["gan_batch"]  # real + a fixed number of fakes per step
    x = lambda n: (torch_rand(n, 1, size["image"], size["image"]), torch_labels(n))  # noqa: E731
    return model, batch, x, lambda m, xb, yb: _bce(m(xb, yb), yb)


def torch_rand(*shape):
    import torch

    return torch.rand(*shape) * 2 - 1


def torch_labels(n):
    import torch

    return torch.randint(0, 2, (n,))


def _ce(logits, y):
    import torch.nn.functional as F

    return F.cross_entropy(logits, y)


def _bce(logits, y):
    import torch.nn.functional as F

    return F.binary_cross_entropy_with_logits(logits, y.float())


def _measure(model_name: str, size_name: str, private: bool, device: str, steps: int, queue):
    """Child process: build, warm up, time ``steps`` steps, report throughput and memory."""
    import torch

    from bench.privacy.budget import PrivacyBudget
    from bench.privacy.ledger import PrivacyLedger

    torch.manual_seed(0)
    model, batch, make, loss_fn = (_vit if model_name == "vit" else _gan)(SIZES[size_name])
    model = model.to(device).train()
    xs, ys = make(batch * 4)
    budget = PrivacyBudget(8.0 if private else math.inf, 1e-4)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    ledger = PrivacyLedger(budget, unit="one image")
    data = ledger.hold("synthetic benchmark data", xs, ys)
    training = ledger.train(model, opt, data, batch_size=batch, epochs=100, max_grad_norm=1.0)
    xb, yb = xs[:batch].to(device), ys[:batch].to(device)

    def step():
        training.optimizer.zero_grad(set_to_none=True)
        loss_fn(training.module, xb, yb).backward()
        training.optimizer.step()

    step()  # warm-up: allocations, kernels, hooks
    if device.startswith("cuda"):
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    if device.startswith("cuda"):
        torch.cuda.synchronize()
        peak = torch.cuda.max_memory_allocated() / 2**20
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    seconds = (time.perf_counter() - start) / steps
    queue.put(
        {
            "model": model_name,
            "private": private,
            "batch": batch,
            "step_s": seconds,
            "samples_per_s": batch / seconds,
            "peak_mib": peak,
            "parameters": sum(p.numel() for p in model.parameters()),
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda", help="cuda | cuda:N | cpu")
    parser.add_argument("--size", choices=sorted(SIZES), default="paper")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()
    import torch

    if args.device.startswith("cuda") and not torch.cuda.is_available():
        sys.exit("CUDA is not available here; use --device cpu")
    ctx = mp.get_context("spawn")
    results = []
    for model_name in ("vit", "gan"):
        for private in (False, True):
            queue = ctx.Queue()
            child = ctx.Process(
                target=_measure,
                args=(model_name, args.size, private, args.device, args.steps, queue),
            )
            child.start()
            results.append(queue.get())
            child.join()
            r = results[-1]
            mode = "DP" if private else "non-private"
            print(
                f"{model_name:4s} {mode:12s}: {r['step_s'] * 1e3:8.1f} ms/step "
                f"{r['samples_per_s']:9.1f} samples/s  peak {r['peak_mib']:8.0f} MiB",
                flush=True,
            )
    for model_name in ("vit", "gan"):
        plain, dp = (r for r in results if r["model"] == model_name)
        print(f"{model_name}: DP / non-private step time = {dp['step_s'] / plain['step_s']:.2f}")
    device = (
        torch.cuda.get_device_name(0) if args.device.startswith("cuda") else platform.processor()
    )
    report = {"device": device, "size": args.size, "torch": torch.__version__, "results": results}
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(report, handle, indent=2)


if __name__ == "__main__":
    main()
