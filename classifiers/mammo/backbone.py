"""The public start of every ``mammo-cls`` reference classifier, and the synthetic-data model.

- ``vit`` (default): the suite's ViT, pre-trained on the ``public`` split only (SimCLR
  without labels by default, the ImageNet analogue), cached per (configuration, seed);
  or loaded from ``pretrained_weights``.
- ``resnet-gn``: a GroupNorm ResNet-10 (:mod:`classifiers.cnn`), pre-trained, cached
  or loaded the same way.
- ``swin-t``: torchvision's Swin-T with the user's local ImageNet weights, frozen.

The synthetic-data model (``vit-syn-only``, and the start of ``dp-vit-synpre``) is the
public classifier trained non-privately on synthetic patches only: the whole network
(as the paper's synthetic-only run), or the head for the frozen Swin-T.
"""

from __future__ import annotations

import copy
from pathlib import Path

from bench.errors import BenchError
from bench.tasks.mammo_cls.api import MammoView, Split
from classifiers.mammo.checkpoints import artifact_key, cached, file_key, load_checkpoint
from classifiers.mammo.schedule import train_model


def vit_config(config, image_size: int):
    from classifiers.vit import ViTConfig

    return ViTConfig(
        image_size=image_size,
        patch_size=config.vit_patch,
        dim=config.vit_dim,
        depth=config.vit_depth,
        heads=config.vit_heads,
        head_hidden=config.head_hidden,
        stem="conv",
    )


def cnn_config(config, image_size: int):
    from classifiers.cnn import CNNConfig

    return CNNConfig(image_size=image_size, head_hidden=config.head_hidden)


def backbone_meta(config, image_size: int) -> dict:
    """The shape a checkpoint of the configured backbone (``vit``, ``resnet-gn``) must have."""
    from dataclasses import asdict

    shape = cnn_config if config.backbone == "resnet-gn" else vit_config
    return {config.backbone: asdict(shape(config, image_size))}


def _network(config, image_size: int):
    """A fresh (untrained) classifier of the configured trainable backbone."""
    if config.backbone == "resnet-gn":
        from classifiers.cnn import ResNetGN

        return ResNetGN(cnn_config(config, image_size))
    from classifiers.vit import VisionTransformer

    return VisionTransformer(vit_config(config, image_size))


_NAMES = {"vit": "ViT", "resnet-gn": "GroupNorm ResNet"}  # as the records name the steps


def check_backbone_inputs(config, image_size: int) -> None:
    """Fail before any training on a backbone request that cannot be honoured."""
    if config.backbone == "swin-t":
        if config.train != "head":
            raise BenchError("backbone swin-t is head-only: add --set train=head")
        from classifiers.swin import load_swin_t

        load_swin_t(config.pretrained_weights)  # raises a clear error when unusable
    elif config.pretrained_weights:
        path = Path(config.pretrained_weights).expanduser()
        load_checkpoint(path, config.backbone, backbone_meta(config, image_size))


def public_classifier(ctx, view: MammoView, ledger):
    """The public pre-trained classifier (eval mode); its key (a public step of the ledger)."""
    model, step = _public_classifier(ctx, view)
    ledger.note_public(**step)
    return model, step.get("key", "")


def _public_classifier(ctx, view: MammoView):
    config, size = ctx.config, view.image_size
    if config.backbone == "swin-t":
        from classifiers.swin import swin_classifier

        step = {"name": "Swin-T backbone", "data": "ImageNet weights (user file), frozen"}
        key = file_key(Path(config.pretrained_weights).expanduser())
        return swin_classifier(config.pretrained_weights), {**step, "key": key}
    kind, name = config.backbone, _NAMES[config.backbone]
    if config.pretrained_weights:
        path = Path(config.pretrained_weights).expanduser()
        state, _ = load_checkpoint(path, kind, backbone_meta(config, size))
        model = _network(config, size)
        model.load_state_dict(state)
        step = {"name": f"{name} backbone", "data": f"user checkpoint {path} (public, by contract)"}
        return model.eval(), {**step, "key": file_key(path)}
    inputs = {
        **backbone_meta(config, size),
        "pretrain": [config.pretrain, config.pretrain_epochs],
        "data": view.public.digest(),
        "seed": ctx.derive_seed("backbone"),
        "device": ctx.device.split(":")[0],
    }
    key = artifact_key(kind, inputs)
    make = lambda: _network(config, size)  # noqa: E731
    pretrainer = _pretrainer(config, view.public, ctx)
    model, _ = cached(kind, key, backbone_meta(config, size), make, pretrainer, device=ctx.device)
    labels = "with" if config.pretrain == "supervised" else "without"
    step = {
        "name": f"{name} backbone pre-training ({config.pretrain})",
        "data": f"public split, {labels} labels",
    }
    return model, {**step, "key": key}


def _pretrainer(config, public: Split, ctx):
    device, progress = ctx.device, ctx.progress

    def train(model) -> dict:
        import torch

        from classifiers.pretrain import PretrainConfig, pretrain_simclr
        from classifiers.training import TrainConfig, fit, to_input

        images = to_input(public.images)
        if config.pretrain == "simclr":
            schedule = PretrainConfig(epochs=config.pretrain_epochs)
            seed = int(torch.randint(2**31, ()))
            pretrain_simclr(
                model.backbone,
                images,
                schedule,
                width=model.config.dim,
                seed=seed,
                device=device,
                progress=progress,
            )
        elif config.pretrain == "supervised":
            schedule = TrainConfig(epochs=config.pretrain_epochs, batch_size=64)
            labels = torch.as_tensor(public.labels)  # public data: nothing to protect
            fit(model, (images, labels), schedule, device=device, progress=progress)
        return {}

    return train


def synthetic_model(ctx, base, base_key: str, synthetic: Split, gan_key: str, image_size: int):
    """The public classifier trained on synthetic patches only (cached; no private data).

    The synthetic patches are public data here: samples of a public GAN, or
    post-processing of a DP GAN whose run the ledger has accounted.
    """
    config = ctx.config
    inputs = {
        "base": base_key,
        "gan": gan_key,
        "schedule": [config.syn_epochs, config.syn_lr, config.batch_size, config.n_synthetic],
        "seed": ctx.derive_seed("synthetic-model"),
        "device": ctx.device.split(":")[0],
    }
    key = artifact_key("vit-synthetic", inputs)

    def train(model) -> dict:
        train_model(ctx, model, (synthetic.images, synthetic.labels), synthetic=True)
        return {}

    def make():
        return copy.deepcopy(base).reset_head(ctx.derive_seed("synthetic-head"))

    if config.backbone == "swin-t":  # the user's ImageNet weights are not ours to cache
        model = make()
        train(model)
        return model.eval()
    meta = {**backbone_meta(config, image_size), "syn_epochs": config.syn_epochs}
    return cached("vit-synthetic", key, meta, make, train, device=ctx.device)[0]
