"""How the ``mammo-cls`` reference classifiers train: whole model, or head on frozen features.

Private records train through the ledger (:func:`classifiers.training.fit`); synthetic
and public patches through the same loop, non-privately.
"""

from __future__ import annotations

from bench.privacy.ledger import PrivacyLedger, PrivateData, Training


def head_only(config) -> bool:
    return config.train == "head" or config.backbone == "swin-t"


def train_model(
    ctx,
    model,
    data: PrivateData | tuple,
    ledger: PrivacyLedger | None = None,
    *,
    share: float = 1.0,
    synthetic: bool = False,
) -> Training:
    """Train ``model`` on records (images (n, H, W) in [0, 1], labels).

    ``data`` is the ledger's private split (or its union with synthetic patches), trained
    with DP-SGD at ``share`` of the budget unless epsilon = inf, or public numpy arrays.
    Synthetic-data training (``synthetic=True``) trains the whole network (not the frozen
    Swin-T's), as the paper's synthetic-only run, with its own epochs and learning rate.
    """
    import torch

    from classifiers.training import (
        TrainConfig,
        fit,
        fit_head,
        flipped_features,
        noise_generator,
        to_input,
    )

    c = ctx.config
    epochs, lr = (c.syn_epochs, c.syn_lr) if synthetic else (c.epochs, c.lr)
    schedule = TrainConfig(
        epochs, c.batch_size, lr, c.weight_decay, c.label_smoothing, c.max_grad_norm, c.augment
    )
    seed = ctx.derive_seed("noise", ctx.cell.method, ctx.cell.epsilon)
    kwargs = {
        "ledger": ledger,
        "share": share,
        "generator": noise_generator(seed, ctx.device),
        "device": ctx.device,
        "progress": ctx.progress,
    }
    private = isinstance(data, PrivateData)
    if head_only(c) and not (synthetic and c.backbone != "swin-t"):
        model.freeze_backbone()
        features = flipped_features(model.backbone, c.augment, ctx.device)
        if private:
            what = "features of the frozen public backbone (every flip)"
            records = data.map(features, what)
        else:
            records = features(*data)
        name = "classifier training (MLP head on the frozen backbone)"
        return fit_head(model.head, records, schedule, name=name, **kwargs)
    if private:
        records = data.map(lambda x, y: (to_input(x), y), "scaled to [-1, 1]")
    else:
        records = (to_input(data[0]), torch.as_tensor(data[1]))
    whole = "whole ViT" if c.backbone == "vit" else f"whole {c.backbone}"
    return fit(model, records, schedule, name=f"classifier training ({whole})", **kwargs)
