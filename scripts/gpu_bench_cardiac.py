"""Speed and memory of the cardiac-ldm denoiser: DP-SGD step vs non-private step.

    python scripts/gpu_bench_cardiac.py                      # CUDA if present, paper size
    python scripts/gpu_bench_cardiac.py --device cpu --batch 2 --steps 2   # CPU smoke run
    python scripts/gpu_bench_cardiac.py --size small --batches 16,64 --json out.json

For each batch size, a few warm-up steps and then ``--steps`` timed steps of (a) a
plain Adam step and (b) an opacus DP-SGD step (per-sample gradients by hooks, clipping,
noise), on random latents of the profile's shape (paper: 1 x 13 x 24 x 24, UNet
channels 128/256/384, 130 M parameters; small: 0.9 M). Reports seconds per
step, samples per second, the DP / non-private time ratio and the peak memory (CUDA:
``max_memory_allocated``; CPU: the process's peak resident set size, which only grows,
so CPU rows after the first are upper bounds). On an H100 the default run takes a few
minutes; it never trains anything useful.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import time
from pathlib import Path

import torch

from generators.ldm_speed import SIZES, make_step, parameter_count


def peak_memory_gib(device: str) -> float:
    if device.startswith("cuda"):
        return torch.cuda.max_memory_allocated(device) / 2**30
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # kB on Linux


def measure(size: str, batch: int, private: bool, device: str, steps: int, warmup: int) -> dict:
    """Median seconds per step and peak memory of one (size, batch, mode) setting."""
    config, latent = SIZES[size]
    if device.startswith("cuda"):
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)
    step = make_step(config, latent, batch=batch, private=private, device=device)
    times = []
    for i in range(warmup + steps):
        start = time.perf_counter()
        step()
        if device.startswith("cuda"):
            torch.cuda.synchronize(device)
        if i >= warmup:
            times.append(time.perf_counter() - start)
    seconds = statistics.median(times)
    return {
        "size": size,
        "batch": batch,
        "mode": "dp" if private else "non-private",
        "s_per_step": seconds,
        "samples_per_s": batch / seconds,
        "peak_memory_gib": peak_memory_gib(device),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--size", choices=sorted(SIZES), default="paper")
    parser.add_argument("--batches", default="8,32", help="comma-separated batch sizes")
    parser.add_argument("--batch", type=int, help="a single batch size (overrides --batches)")
    parser.add_argument("--steps", type=int, default=5, help="timed steps per setting")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="CPU threads (0: torch default; 1 by default, "
        "as the benchmarks: on a busy CPU torch's thread pools can make one step 10x slower)",
    )
    parser.add_argument("--json", type=Path, help="also write the rows as JSON here")
    args = parser.parse_args(argv)
    if args.threads and args.device == "cpu":
        torch.set_num_threads(args.threads)
    batches = [args.batch] if args.batch else [int(b) for b in args.batches.split(",")]
    config, latent = SIZES[args.size]
    name = torch.cuda.get_device_name(args.device) if args.device.startswith("cuda") else "cpu"
    print(f"device {name}; size {args.size}: latent {latent}, "
          f"{parameter_count(config, latent) / 1e6:.1f} M parameters")  # fmt: skip
    rows = []
    for batch in batches:
        plain = measure(args.size, batch, False, args.device, args.steps, args.warmup)
        dp = measure(args.size, batch, True, args.device, args.steps, args.warmup)
        dp["dp_over_non_private"] = dp["s_per_step"] / plain["s_per_step"]
        rows += [plain, dp]
        for row in (plain, dp):
            print(_line(row))
        print(f"batch {batch:4d} DP / non-private time ratio: {dp['dp_over_non_private']:.2f}")
    if args.json:
        args.json.write_text(json.dumps({"device": name, "rows": rows}, indent=2) + "\n")
    return 0


def _line(row: dict) -> str:
    return (
        f"batch {row['batch']:4d} {row['mode']:12s} {row['s_per_step']:8.3f} s/step "
        f"{row['samples_per_s']:8.1f} samples/s  peak {row['peak_memory_gib']:.2f} GiB"
    )


if __name__ == "__main__":
    raise SystemExit(main())
