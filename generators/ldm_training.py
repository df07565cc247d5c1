"""Training of the latent denoiser: public pre-training and DP-SGD fine-tuning, one loop.

Private training goes through the cell's privacy ledger (:meth:`PrivacyLedger.train`:
Poisson sampling, per-sample clipping at C, noise calibrated by the ledger to its
budget, accountant read back); the non-private budget (epsilon = inf) runs the same
fixed schedule without clipping or noise, which is also how public pre-training runs
(:func:`pretrain_denoiser`, on public latents, outside the ledger). The schedule
(epochs, batch size, learning rate) is fixed in advance: no early stopping or model
selection looks at private data.

A logical batch is processed in physical chunks to bound memory (Conv3d per-sample
gradients are large). Under DP every chunk's loss is its own mean, as opacus's
``loss_reduction="mean"`` expects, and opacus stacks the chunks' per-sample gradients
into one batch before clipping; without DP the chunk losses are weighted by their share
of the batch, which gives the gradient of the whole batch's mean.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from bench.privacy.ledger import PrivacyLedger, PrivateData, Training, public_training
from generators.ldm import diffusion_loss, drop_attributes, make_scheduler
from generators.ldm_config import DiffusionConfig, TrainSchedule


def _no_progress(iterable, **_):
    return iterable


def train_denoiser(
    model: nn.Module,
    data: PrivateData,
    ledger: PrivacyLedger,
    schedule: TrainSchedule,
    diffusion: DiffusionConfig,
    *,
    seed: int,
    device: str,
    name: str = "denoiser training",
    progress: Callable[..., Iterable] = _no_progress,
) -> Training:
    """Train ``model`` in place on private (scaled latents, scaled attributes) records
    through ``ledger`` (DP-SGD at the cell's budget; the plain schedule at epsilon = inf).

    Returns:
        The ledger's :class:`Training`; its ``module`` may be opacus's wrapper of ``model``.
    """
    optimizer = torch.optim.Adam(_trainable(model), lr=schedule.lr)
    training = ledger.train(
        model,
        optimizer,
        data,
        batch_size=schedule.batch_size,
        epochs=schedule.epochs,
        max_grad_norm=schedule.max_grad_norm,
        name=name,
        loader_generator=torch.Generator().manual_seed(seed),
        noise_generator=torch.Generator(device).manual_seed(seed + 1),
        # opacus's hooks without the work DP discards (bench.privacy.fast_hooks): the
        # fastest per-sample path measured for this model (docs/performance.md)
        grad_sample_mode="fast-hooks",
    )
    return _run(training, schedule, diffusion, seed, device, progress, "private training")


def pretrain_denoiser(
    model: nn.Module,
    latents: Tensor,
    attributes: Tensor,
    schedule: TrainSchedule,
    diffusion: DiffusionConfig,
    *,
    seed: int,
    device: str,
    progress: Callable[..., Iterable] = _no_progress,
) -> Training:
    """Train ``model`` in place on *public* latents without DP (the same loop)."""
    optimizer = torch.optim.Adam(_trainable(model), lr=schedule.lr)
    training = public_training(
        model,
        optimizer,
        (latents, attributes),
        batch_size=schedule.batch_size,
        loader_generator=torch.Generator().manual_seed(seed),
    )
    return _run(training, schedule, diffusion, seed, device, progress, "pre-training (public)")


def _trainable(model: nn.Module) -> list[nn.Parameter]:
    return [p for p in model.parameters() if p.requires_grad]  # frozen ones stay put


def _run(training: Training, schedule, diffusion, seed, device, progress, desc: str) -> Training:
    draws = torch.Generator(device).manual_seed(seed + 2)
    step = _Step(training, make_scheduler(diffusion, "ddpm"), draws, schedule, device)
    epoch = _private_epoch if training.is_private else _plain_epoch
    for _ in progress(range(schedule.epochs), desc=desc, unit="epoch"):
        epoch(step)
    training.optimizer.zero_grad(set_to_none=True)  # free (per-sample) gradients for sampling
    return training


@dataclass(frozen=True)
class _Step:
    training: Training
    scheduler: object
    draws: torch.Generator
    schedule: TrainSchedule
    device: str

    def loss(self, z0: Tensor, attrs: Tensor) -> Tensor:
        attrs = drop_attributes(attrs.to(self.device), self.schedule.cfg_dropout, self.draws)
        return diffusion_loss(self.training.module, z0.to(self.device), attrs, self.scheduler,
                              self.draws)  # fmt: skip


def _private_epoch(step: _Step) -> None:
    """Physical chunks from opacus's BatchMemoryManager: the optimizer clips each chunk's
    per-sample gradients, sums them, and adds noise once, at the end of the logical batch."""
    from opacus.utils.batch_memory_manager import BatchMemoryManager

    optimizer = step.training.optimizer
    with BatchMemoryManager(
        data_loader=step.training.data_loader,
        max_physical_batch_size=step.schedule.physical_batch,
        optimizer=optimizer,
    ) as loader:
        for z0, attrs in loader:
            optimizer.zero_grad()
            if len(z0) == 0:
                noise_only(optimizer)
            else:
                step.loss(z0, attrs).backward()
            optimizer.step()


def noise_only(optimizer) -> None:
    """Prepare an empty Poisson batch's step: it still happens (and is accounted), adding
    noise to a zero gradient; skipping it would change the mechanism the accountant saw."""
    for p in optimizer.params:
        p.grad_sample = p.new_zeros((0, *p.shape))


def _plain_epoch(step: _Step) -> None:
    """Without DP: chunk losses weighted by their share give the whole batch's gradient."""
    optimizer, size = step.training.optimizer, step.schedule.physical_batch
    for z0, attrs in step.training.data_loader:
        optimizer.zero_grad()
        for zc, ac in zip(z0.split(size), attrs.split(size), strict=True):
            (step.loss(zc, ac) * (len(zc) / len(z0))).backward()
        optimizer.step()


__all__ = ["TrainSchedule", "noise_only", "pretrain_denoiser", "train_denoiser"]
