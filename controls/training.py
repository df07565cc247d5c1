"""DP-SGD of a small MLP through the ledger, honest or with one deliberate bug.

Each ``run_*`` is a method runner ``(ctx, view, ledger) -> model``; the bugs are applied
to the objects ``ledger.train`` returns, as a plug-in author could (see
:mod:`controls.methods`).
"""

from __future__ import annotations

import itertools
from dataclasses import replace

import torch
from torch import nn

from bench.privacy.ledger import Training


def _model(ctx, view) -> nn.Module:
    torch.manual_seed(ctx.derive_seed("init", ctx.cell.epsilon))
    sizes = (view.image_size**2, *ctx.config.hidden)
    layers: list[nn.Module] = [nn.Flatten()]
    for a, b in itertools.pairwise(sizes):
        layers += [nn.Linear(a, b), nn.ReLU()]
    return nn.Sequential(*layers, nn.Linear(sizes[-1], 2))


def _train(ctx, view, ledger, bug=None) -> nn.Module:
    config = ctx.config
    model = _model(ctx, view)
    training = ledger.train(
        model,
        torch.optim.SGD(model.parameters(), lr=config.lr),
        view.train,
        batch_size=config.batch_size,
        epochs=config.epochs,
        max_grad_norm=config.max_grad_norm,
        noise_generator=torch.Generator().manual_seed(ctx.derive_seed("noise", ctx.cell.epsilon)),
    )
    # the bugs live in the DP code path; the non-private baseline (eps = inf) has none
    loader = bug(training) if bug and training.is_private else training.data_loader
    loss_fn = nn.CrossEntropyLoss()
    steps = training.calibration.steps if training.calibration else len(loader) * config.epochs
    done = 0
    while done < steps:
        for images, labels in loader:
            if done == steps:
                break
            training.optimizer.zero_grad(set_to_none=True)
            if len(labels):
                loss_fn(training.module(images), labels).backward()
            training.optimizer.step()
            done += 1
    return model


def run_honest(ctx, view, ledger):
    return _train(ctx, view, ledger)


def _noise_scaled(training: Training, factor: float):
    """Draw the noise at ``factor`` times the calibrated multiplier, while the optimizer --
    and so the accountant, which reads it after the step -- still shows the calibrated one."""
    optimizer = training.optimizer
    add_noise, sigma = optimizer.add_noise, optimizer.noise_multiplier

    def scaled_noise():  # BUG (deliberate)
        optimizer.noise_multiplier = sigma * factor
        try:
            add_noise()
        finally:
            optimizer.noise_multiplier = sigma

    optimizer.add_noise = scaled_noise
    return training.data_loader


def run_no_noise(ctx, view, ledger):
    return _train(ctx, view, ledger, lambda training: _noise_scaled(training, 0.0))


def run_half_noise(ctx, view, ledger):
    return _train(ctx, view, ledger, lambda training: _noise_scaled(training, 0.5))


def _unclipped_layer(training: Training):
    optimizer = training.optimizer
    layer = training.module._module[1].weight  # the first hidden layer's weight
    clip = optimizer.clip_and_accumulate

    def clip_and_accumulate():  # BUG (deliberate): one layer's sum left unclipped
        clip()
        layer.summed_grad = layer.grad_sample.sum(0)

    optimizer.clip_and_accumulate = clip_and_accumulate
    return training.data_loader


def run_unclipped_layer(ctx, view, ledger):
    return _train(ctx, view, ledger, _unclipped_layer)


def _full_batch(training: Training):
    from torch.utils.data import DataLoader

    records = training.data_loader.dataset  # BUG (deliberate): every record every step
    return DataLoader(records, batch_size=len(records))


def run_full_batch(ctx, view, ledger):
    return _train(ctx, view, ledger, _full_batch)


class _Recall(nn.Module):
    """The DP-trained model, except on a record it kept: there, that record's label."""

    def __init__(self, model: nn.Module, images: torch.Tensor, labels: torch.Tensor):
        super().__init__()
        self.model, self.images, self.labels = model, images.flatten(1), labels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits = self.model(x)
        distance, nearest = torch.cdist(
            x.flatten(1).to(self.images), self.images, compute_mode="donot_use_mm_for_euclid_dist"
        ).min(1)
        hit = distance == 0  # BUG (deliberate): a kept record is answered from memory
        recalled = nn.functional.one_hot(self.labels[nearest], 2).to(logits) * 50.0
        return torch.where(hit[:, None], recalled, logits)


def run_leaky_map(ctx, view, ledger):
    kept = {}

    def keep(images, labels):  # BUG (deliberate): not a per-record map; it keeps them all
        kept["images"], kept["labels"] = images.clone(), labels.clone()
        return images, labels

    leaky = replace(view, train=view.train.map(keep, "identity (said to be per record)"))
    model = _train(ctx, leaky, ledger)
    return _Recall(model, kept["images"], kept["labels"])
