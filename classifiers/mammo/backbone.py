"""The public starting point of every ``mammo-cls`` classifier, and the synthetic-data model.

- ``vit`` (default): the suite's ViT, pre-trained on the ``public`` split only (SimCLR
  without labels by default, the ImageNet analogue), cached per (configuration, seed);
  or loaded from ``pretrained_weights``.
- ``swin-t``: torchvision's Swin-T with the user's local ImageNet weights, frozen.

The synthetic-data model (``vit-syn-only``, and the start of ``dp-vit-synpre``) is the
public classifier trained non-privately on synthetic patches only: the whole ViT (as
the paper's synthetic-only run), or the head for the frozen Swin-T.
"""

from __future__ import annotations

import copy
import math
from pathlib import Path

from bench.errors import BenchError
from bench.privacy.budget import PrivacyBudget
from bench.tasks.mammo_cls_data import MammoData
from bench.tasks.mammo_cls_models import artifact_key, cached, file_key, load_checkpoint
from bench.tasks.mammo_cls_synthetic import Synthetic

KIND = "vit"


def vit_config(config):
    from classifiers.vit import ViTConfig

    return ViTConfig(
        image_size=config.image_size,
        patch_size=config.vit_patch,
        dim=config.vit_dim,
        depth=config.vit_depth,
        heads=config.vit_heads,
        head_hidden=config.head_hidden,
        stem="conv",
    )


def vit_meta(config) -> dict:
    """The shape a ViT checkpoint must have."""
    from dataclasses import asdict

    return {"vit": asdict(vit_config(config))}


def check_backbone_inputs(config) -> None:
    """Fail before any training on a backbone request that cannot be honoured."""
    if config.backbone == "swin-t":
        if config.train != "head":
            raise BenchError("backbone swin-t is head-only: add --set train=head")
        from classifiers.swin import load_swin_t

        load_swin_t(config.pretrained_weights)  # raises a clear error when unusable
    elif config.pretrained_weights:
        path = Path(config.pretrained_weights).expanduser()
        load_checkpoint(path, KIND, vit_meta(config))


def public_classifier(ctx, data: MammoData):
    """The public pre-trained classifier (eval mode) and the record's line about it."""
    config = ctx.config
    if config.backbone == "swin-t":
        from classifiers.swin import swin_classifier

        step = {"name": "Swin-T backbone", "data": "ImageNet weights (user file), frozen"}
        key = file_key(Path(config.pretrained_weights).expanduser())
        return swin_classifier(config.pretrained_weights), {**step, "key": key}
    from classifiers.vit import VisionTransformer

    if config.pretrained_weights:
        path = Path(config.pretrained_weights).expanduser()
        state, _ = load_checkpoint(path, KIND, vit_meta(config))
        model = VisionTransformer(vit_config(config))
        model.load_state_dict(state)
        step = {"name": "ViT backbone", "data": f"user checkpoint {path} (public, by contract)"}
        return model.eval(), {**step, "key": file_key(path)}
    inputs = {
        **vit_meta(config),
        "pretrain": [config.pretrain, config.pretrain_epochs],
        "data": data.public.digest(),
        "seed": ctx.derive_seed("backbone"),
        "device": ctx.device.split(":")[0],
    }
    key = artifact_key(KIND, inputs)
    make = lambda: VisionTransformer(vit_config(config))  # noqa: E731
    model, _ = cached(KIND, key, vit_meta(config), make, _pretrainer(config, data, ctx))
    labels = "with" if config.pretrain == "supervised" else "without"
    step = {
        "name": f"ViT backbone pre-training ({config.pretrain})",
        "data": f"public split, {labels} labels",
    }
    return model, {**step, "key": key}


def _pretrainer(config, data: MammoData, ctx):
    device, progress = ctx.device, ctx.progress

    def train(model) -> dict:
        import torch

        from classifiers.pretrain import PretrainConfig, pretrain_simclr
        from classifiers.training import TrainConfig, fit, to_input

        images = to_input(data.public.images)
        if config.pretrain == "simclr":
            schedule = PretrainConfig(epochs=config.pretrain_epochs)
            seed = int(torch.randint(2**31, ()))
            pretrain_simclr(
                model.backbone,
                images,
                schedule,
                width=config.vit_dim,
                seed=seed,
                device=device,
                progress=progress,
            )
        elif config.pretrain == "supervised":
            schedule = TrainConfig(epochs=config.pretrain_epochs, batch_size=64)
            labels = torch.as_tensor(data.public.labels)
            budget = PrivacyBudget(math.inf, 0.5)  # public data: nothing to protect
            fit(model, images, labels, schedule, budget, device=device, progress=progress)
        return {}

    return train


def synthetic_model(ctx, setup, synthetic: Synthetic):
    """The public classifier trained on synthetic patches only (cached; no private data)."""
    from bench.tasks.mammo_cls_cells import train_model

    config = ctx.config
    base_key = setup.public_steps[0].get("key", "")
    inputs = {
        "base": base_key,
        "gan": synthetic.gan.get("key", ""),
        "schedule": [config.syn_epochs, config.syn_lr, config.batch_size, config.n_synthetic],
        "seed": ctx.derive_seed("synthetic-model"),
        "device": ctx.device.split(":")[0],
    }
    key = artifact_key("vit-synthetic", inputs)

    def train(model) -> dict:
        train_model(ctx, model, synthetic.images, synthetic.labels, _no_budget(ctx), synthetic=True)
        return {}

    def make():
        return copy.deepcopy(setup.base).reset_head(ctx.derive_seed("synthetic-head"))

    if config.backbone == "swin-t":  # the user's ImageNet weights are not ours to cache
        model = make()
        train(model)
        return model.eval()
    meta = {**vit_meta(config), "syn_epochs": config.syn_epochs}
    return cached("vit-synthetic", key, meta, make, train)[0]


def _no_budget(ctx) -> PrivacyBudget:
    return PrivacyBudget(math.inf, ctx.task.delta, ctx.budget.accountant)
