"""One training step per reference model at the small profile: DP-SGD in each grad-sample
mode of the ledger, and the plain step (asv; ``python -m benchmarks.dp_overhead`` prints
their ratios from the same cases).

The models are built as the reference methods build them at the small profile (the
mammo-cls ViT and GAN discriminator, the cardiac-ldm denoiser; the recon-attack SmallCNN)
and both kinds of step go through :meth:`PrivacyLedger.train` (DP at epsilon 8 with the
given ``grad_sample_mode``; epsilon = inf for the plain step), on one fixed batch so that
every timed step does the same work, one torch thread. A DP step is zero_grad, forward,
per-sample gradients and clipping, noise, the optimizer's update.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from bench.privacy.budget import PrivacyBudget
from bench.privacy.ledger import PrivacyLedger, Training


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


def small_cnn() -> Case:
    """The recon-attack SmallCNN (16 x 16 grayscale, width 16), SGD, batch 16."""
    from attacks.models import SmallCNN

    x, y = torch.rand(16, 1, 16, 16), torch.randint(0, 2, (16,))

    def per_sample(module, batch):
        return F.cross_entropy(module(batch[0]), batch[1], reduction="none")

    return Case(SmallCNN(1, 16, 2), lambda p: torch.optim.SGD(p, lr=0.01), (x, y), per_sample)


def _load_methods() -> None:
    """The reference configs register their methods on import: the tasks come first."""
    from bench.tasks import load

    load()


MODELS: dict[str, Callable[[], Case]] = {
    "vit": vit, "unet3d": unet3d, "gan_d": gan_d, "small-cnn": small_cnn
}  # fmt: skip


def training(case: Case, epsilon: float, mode: str) -> Training:
    """``case``'s model wrapped by a ledger at ``epsilon`` (inf: the plain step)."""
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


class TimeDPStep:
    """One step of each model: ``plain`` (epsilon = inf) or DP in a grad-sample mode."""

    params = (list(MODELS), ["plain", "hooks", "fast-hooks", "ghost"])
    param_names = ("model", "mode")
    number, repeat, warmup_time = 1, 5, 0.0  # one step is up to seconds on the 2-core VM
    timeout = 600

    def setup(self, name: str, mode: str) -> None:
        torch.set_num_threads(1)
        torch.manual_seed(0)
        self.case = MODELS[name]()
        plain = mode == "plain"
        self.run = training(self.case, math.inf if plain else 8.0, "hooks" if plain else mode)
        step(self.case, self.run)  # warm-up: allocations, hooks, oneDNN primitives

    def time_step(self, name: str, mode: str) -> None:
        step(self.case, self.run)

    def peakmem_step(self, name: str, mode: str) -> None:
        step(self.case, self.run)
