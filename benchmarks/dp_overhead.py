"""DP-SGD step time over non-private step time, per reference model, in one process.

    python -m benchmarks.dp_overhead --json            # each model on its fastest path
    python -m benchmarks.dp_overhead --json --mode hooks
    python -m benchmarks.dp_overhead --all-modes       # every mode, to choose by measurement

Prints ``{"vit": r, "unet3d": r, "gan_d": r}``: r = median DP step / median
non-private step. The models are built as the reference methods build them at the
small profile (mammo-cls ViT and GAN discriminator, cardiac-ldm denoiser) and both
steps go through :meth:`PrivacyLedger.train` (DP at epsilon 8 with the given
``grad_sample_mode``; epsilon = inf for the plain step), on one fixed batch (so each
timed step does the same work), one torch thread. A DP step is zero_grad, forward,
per-sample gradients and clipping, noise, the optimizer's update; the plain step the
same without clipping and noise. The two kinds of steps are interleaved so that a
change in the machine's load hits both alike.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from bench.privacy.budget import PrivacyBudget
from bench.privacy.ledger import GRAD_SAMPLE_MODES, PrivacyLedger, Training

# each model's fastest mode by this script's measurement (docs/performance.md); opacus's
# ew mode has no grad sampler for the custom layers (ViT tokens) and is left out there
FASTEST = {"vit": "ghost", "unet3d": "hooks", "gan_d": "ghost"}


@dataclass
class Case:
    """One model's training step: the model, its optimizer, a fixed batch, its loss.

    ``per_sample(module, batch)`` returns one loss per record of the batch; the step
    back-propagates ``Training.loss`` of it, which is what every grad-sample mode needs.
    """

    model: nn.Module
    optimizer: Callable[[list[nn.Parameter]], torch.optim.Optimizer]
    batch: tuple[Tensor, ...]
    per_sample: Callable[[nn.Module, tuple[Tensor, ...]], Tensor]


def vit() -> Case:
    """The mammo-cls ViT (small profile: 64 x 64 patches, conv stem, width 64, depth 4),
    full fine-tuning with label smoothing and AdamW, batch 128."""
    _load_methods()
    from classifiers.mammo.backbone import vit_config
    from classifiers.methods import ClassifierConfig
    from classifiers.vit import VisionTransformer

    config = ClassifierConfig()
    model = VisionTransformer(vit_config(config, 64))
    x = torch.rand(config.batch_size, 1, 64, 64) * 2 - 1
    y = torch.randint(0, 2, (config.batch_size,))

    def per_sample(module, batch):
        images, labels = batch
        return F.cross_entropy(
            module(images), labels, label_smoothing=config.label_smoothing, reduction="none"
        )

    def optimizer(params):
        return torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)

    return Case(model, optimizer, (x, y), per_sample)


def gan_d() -> Case:
    """The mammo-cls GAN discriminator (small profile: 64 x 64, width 16): 64 real and
    64 generated images per step, BCE on logits, Adam as ``generators.cgan``."""
    _load_methods()
    from classifiers.methods import SyntheticConfig
    from generators.cgan import CGANConfig, Discriminator, GANSchedule, Generator

    config, schedule = SyntheticConfig(), GANSchedule()
    cgan = CGANConfig(image_size=64, width=config.gan_width)
    n = config.gan_batch
    with torch.no_grad():
        fake = Generator(cgan)(torch.randn(n, cgan.nz), torch.randint(2, (n,)))
    images = torch.cat([torch.rand(n, 1, 64, 64) * 2 - 1, fake])
    labels = torch.randint(2, (2 * n,))
    target = torch.cat([torch.ones(n), torch.zeros(n)])

    def per_sample(module, batch):  # generators.cgan.discriminator_loss, per sample
        x, c, t = batch
        return F.binary_cross_entropy_with_logits(module(x, c), t, reduction="none")

    def optimizer(params):
        return torch.optim.Adam(params, lr=schedule.lr_d, betas=(schedule.beta1, 0.999))

    return Case(Discriminator(cgan), optimizer, (images, labels, target), per_sample)


def unet3d(batch: int = 16) -> Case:
    """The cardiac-ldm latent denoiser (small profile: latent 1 x 8 x 8 x 8, MONAI 3D
    diffusion UNet with cross-attention to the attribute embedder), epsilon-prediction
    MSE at random timesteps, Adam."""
    from generators.ldm import LatentDenoiser, make_scheduler
    from generators.ldm_config import DiffusionConfig
    from generators.ldm_speed import SIZES

    config, latent = SIZES["small"]
    scheduler = make_scheduler(DiffusionConfig())
    z0, attributes = torch.randn(batch, *latent), torch.rand(batch, 14)
    noise = torch.randn(batch, *latent)
    t = torch.randint(0, scheduler.num_train_timesteps, (batch,))
    z_t = scheduler.add_noise(z0, noise, t)

    def per_sample(module, batch):  # generators.ldm.diffusion_loss, per sample
        z, steps, attrs, eps = batch
        return (module(z, steps, attrs) - eps).pow(2).flatten(1).mean(1)

    def optimizer(params):
        return torch.optim.Adam(params, lr=1e-4)

    return Case(LatentDenoiser(config, latent), optimizer, (z_t, t, attributes, noise), per_sample)


def _load_methods() -> None:
    """The reference configs register their methods on import: the tasks come first."""
    from bench.tasks import load

    load()


MODELS: dict[str, Callable[[], Case]] = {"vit": vit, "unet3d": unet3d, "gan_d": gan_d}


def training(case: Case, epsilon: float, mode: str) -> Training:
    """``case``'s model wrapped by a ledger at ``epsilon`` (inf: the plain step)."""
    import copy

    model = copy.deepcopy(case.model)  # both steps start from the same weights
    model.train()
    ledger = PrivacyLedger(PrivacyBudget(epsilon, 1e-5), unit="one record")
    n = len(case.batch[0])
    data = ledger.hold("benchmark batch", *(t.repeat(8, *[1] * (t.dim() - 1)) for t in case.batch))
    return ledger.train(
        model, case.optimizer(list(model.parameters())), data, batch_size=n, epochs=100,
        max_grad_norm=1.0, noise_generator=torch.Generator().manual_seed(0),
        grad_sample_mode=mode,
    )  # fmt: skip


def step(case: Case, run: Training) -> float:
    """One timed optimizer step on the fixed batch (seconds)."""
    start = time.perf_counter()
    run.optimizer.zero_grad(set_to_none=True)
    run.loss(case.per_sample(run.module, case.batch)).backward()
    run.optimizer.step()
    return time.perf_counter() - start


def ratio(name: str, mode: str, steps: int = 5) -> dict[str, float]:
    """Median DP step and median plain step of model ``name`` (interleaved), and their ratio."""
    torch.manual_seed(0)
    case = MODELS[name]()
    dp, plain = training(case, 8.0, mode), training(case, math.inf, mode)
    step(case, dp), step(case, plain)  # warm-up: allocations, hooks, oneDNN primitives
    times = [(step(case, dp), step(case, plain)) for _ in range(steps)]
    t_dp = statistics.median(t for t, _ in times)
    t_plain = statistics.median(t for _, t in times)
    return {"dp_s": t_dp, "plain_s": t_plain, "ratio": t_dp / t_plain}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.dp_overhead",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--json", action="store_true", help="print {model: ratio} only")
    parser.add_argument(
        "--mode", choices=GRAD_SAMPLE_MODES, help="one mode for all (default: FASTEST's)"
    )
    parser.add_argument("--all-modes", action="store_true", help="every mode for every model")
    parser.add_argument("--models", default=",".join(MODELS), help="comma-separated subset")
    parser.add_argument("--steps", type=int, default=5, help="timed steps of each kind")
    args = parser.parse_args(argv)
    names = args.models.split(",")
    if unknown := [n for n in names if n not in MODELS]:
        parser.error(f"unknown model {unknown[0]!r}; known: {', '.join(MODELS)}")
    if args.steps < 1:
        parser.error("--steps must be at least 1")
    torch.set_num_threads(1)
    if args.all_modes:
        table = {n: {m: _try(n, m, args.steps) for m in GRAD_SAMPLE_MODES} for n in names}
        print(json.dumps(table, indent=None if args.json else 2))
        return 0
    results = {n: ratio(n, args.mode or FASTEST[n], args.steps) for n in names}
    if args.json:
        print(json.dumps({n: round(r["ratio"], 3) for n, r in results.items()}))
    else:
        for n, r in results.items():
            print(f"{n:8s} {args.mode or FASTEST[n]:9s} DP {r['dp_s'] * 1e3:8.1f} ms  "
                  f"plain {r['plain_s'] * 1e3:8.1f} ms  ratio {r['ratio']:.2f}")  # fmt: skip
    return 0


def _try(name: str, mode: str, steps: int) -> float | str:
    """The ratio, or why opacus refused the mode for this model (ew lacks custom layers)."""
    try:
        return round(ratio(name, mode, steps)["ratio"], 3)
    except Exception as exc:  # a mode a model cannot use is a table entry, not a crash
        return f"unsupported: {type(exc).__name__}: {str(exc).splitlines()[0][:80]}"


if __name__ == "__main__":
    sys.exit(main())
