"""Execution of ``mammo-cls`` cells: the four regimes, their evaluation and their records.

Every regime starts from the same public pre-trained classifier (cached per seed), and
every step on private data goes through :func:`bench.privacy.engine.make_private` with
a fixed schedule: no validation split, no early stopping, no model selection, so
nothing escapes the accountant. The test splits are read only by the final evaluation
(and by the FID, itself an evaluation).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np

from bench.privacy.budget import PrivacyBudget
from bench.tasks.base import CellContext, CellOutput
from bench.tasks.mammo_cls_data import MammoData, load_data
from bench.tasks.mammo_cls_privacy import (
    NO_RISK,
    classifier_budget,
    composed_block,
    gan_only_block,
    gan_risk,
    head_only,
    no_private_data_block,
    single_block,
    training_risk,
)
from bench.tasks.mammo_cls_synthetic import (
    check_gan_inputs,
    gan_budget,
    gan_metrics,
    synthesize,
)
from bench.tasks.threads import limit_threads


@dataclass
class Setup:
    """What the regimes of a cell share: the data and the public pre-trained classifier."""

    data: MammoData
    base: object
    public_steps: list


def prepare(ctx: CellContext, synthetic: bool = False) -> Setup:
    """Check every input first (no training is wasted on a bad path), then load."""
    from bench.tasks.mammo_cls_backbone import check_backbone_inputs, public_classifier

    check_backbone_inputs(ctx.config)
    if synthetic:
        check_gan_inputs(ctx.config, ctx.budget)
    data = load_data(ctx)
    base, step = public_classifier(ctx, data)
    return Setup(data, base, [step])


def train_model(ctx: CellContext, model, images, labels, budget: PrivacyBudget, synthetic=False):
    """Train ``model`` (DP unless eps = inf): whole model, or head on frozen features.

    Synthetic-data training (``synthetic=True``) trains the whole ViT, as the paper's
    synthetic-only run, with its own epochs and learning rate.
    """
    import torch

    from classifiers.training import (
        TrainConfig,
        features_of,
        fit,
        fit_head,
        noise_generator,
        to_input,
    )

    c = ctx.config
    epochs, lr = (c.syn_epochs, c.syn_lr) if synthetic else (c.epochs, c.lr)
    schedule = TrainConfig(
        epochs, c.batch_size, lr, c.weight_decay, c.label_smoothing, c.max_grad_norm, c.augment
    )
    seed = ctx.derive_seed("noise", ctx.cell.method, ctx.cell.epsilon)
    y = torch.as_tensor(labels)
    kwargs = {
        "generator": noise_generator(seed, ctx.device),
        "device": ctx.device,
        "progress": ctx.progress,
    }
    if head_only(c) and not (synthetic and c.backbone == "vit"):
        model.freeze_backbone()
        feats = features_of(model.backbone, to_input(images), device=ctx.device)
        return fit_head(model.head, feats, y, schedule, budget, **kwargs)
    return fit(model, to_input(images), y, schedule, budget, **kwargs)


def evaluate(ctx: CellContext, model, data: MammoData) -> dict[str, float]:
    """AUROC (bootstrap 95% CI), AUPRC and accuracy on the internal and external test sets."""
    from bench.metrics.classification import classification_metrics
    from classifiers.training import malignancy_scores, to_input

    metrics = {}
    splits = (("internal", data.test), ("external", data.external))
    for name, split in ((name, split) for name, split in splits if split is not None):
        scores = malignancy_scores(model, to_input(split.images), device=ctx.device)
        seed = ctx.derive_seed("bootstrap", name)
        metrics |= classification_metrics(
            split.labels, scores, name, resamples=ctx.config.bootstrap, seed=seed
        )
    return metrics


def _synthetic(ctx: CellContext, setup: Setup, budget: PrivacyBudget) -> tuple:
    """The synthetic set (a DP GAN gets ``budget``), its metrics and the FID extractor."""
    private = ctx.config.gan_source == "private-dp"
    synthetic = synthesize(ctx, setup.data, budget if private else None)
    if not private:  # a DP GAN is listed among the private steps instead
        setup.public_steps.append(
            {
                "name": "malignancy-conditioned GAN training",
                "data": "public split, with labels",
                "key": synthetic.gan.get("key"),
            }
        )
    metrics, extractor = gan_metrics(ctx.config, synthetic, setup.data, ctx.device)
    return synthetic, metrics, extractor


def _output(ctx, setup, metrics, privacy, risk, synthetic=None, extractor=None) -> CellOutput:
    dataset = setup.data.identity()
    if synthetic is not None:
        dataset["synthetic"] = {"count": len(synthetic.labels), "gan": synthetic.gan}
        dataset["fid_extractor"] = extractor
    return CellOutput(metrics, privacy, risk, dataset)


def _fresh(ctx: CellContext, model):
    return copy.deepcopy(model).reset_head(ctx.derive_seed("head"))


@limit_threads(1)
def run_real(ctx: CellContext) -> CellOutput:
    """``dp-vit-real``: DP-SGD on the private training split only."""
    setup = prepare(ctx)
    model, data = _fresh(ctx, setup.base), setup.data
    training = train_model(ctx, model, data.train.images, data.train.labels, ctx.budget)
    privacy = single_block(ctx, training, "private training split", setup.public_steps)
    risk = training_risk(ctx.config, training)
    return _output(ctx, setup, evaluate(ctx, model, data), privacy, risk)


def _classify_with_synthetic(ctx: CellContext, pretrain: bool) -> CellOutput:
    """``dp-vit-real+syn`` (DP over the union) or ``dp-vit-synpre`` (DP fine-tuning)."""
    from bench.tasks.mammo_cls_backbone import synthetic_model

    setup = prepare(ctx, synthetic=True)
    share = ctx.config.gan_budget_share
    synthetic, gan, extractor = _synthetic(ctx, setup, gan_budget(ctx.budget, share))
    budget = classifier_budget(ctx.budget, synthetic, share)
    data = setup.data
    if pretrain:
        model = copy.deepcopy(synthetic_model(ctx, setup, synthetic))
        images, labels, what = data.train.images, data.train.labels, "private training split"
    else:
        model = _fresh(ctx, setup.base)
        images = np.concatenate([data.train.images, synthetic.images])
        labels = np.concatenate([data.train.labels, synthetic.labels])
        what = "private training split + synthetic patches"
    training = train_model(ctx, model, images, labels, budget)
    privacy = (
        composed_block(ctx, training, synthetic, what, setup.public_steps)
        if synthetic.private
        else single_block(ctx, training, what, setup.public_steps)
    )
    risk = training_risk(ctx.config, training, synthetic)
    metrics = evaluate(ctx, model, data) | gan
    return _output(ctx, setup, metrics, privacy, risk, synthetic, extractor)


@limit_threads(1)
def run_real_syn(ctx: CellContext) -> CellOutput:
    """``dp-vit-real+syn``: DP-SGD over the union of real and synthetic patches."""
    return _classify_with_synthetic(ctx, pretrain=False)


@limit_threads(1)
def run_synpre(ctx: CellContext) -> CellOutput:
    """``dp-vit-synpre``: pre-training on synthetic patches, DP fine-tuning on real ones."""
    return _classify_with_synthetic(ctx, pretrain=True)


@limit_threads(1)
def run_syn_only(ctx: CellContext) -> CellOutput:
    """``vit-syn-only``: synthetic patches only; a DP GAN gets the whole budget."""
    from bench.tasks.mammo_cls_backbone import synthetic_model

    setup = prepare(ctx, synthetic=True)
    synthetic, gan, extractor = _synthetic(ctx, setup, ctx.budget)
    model = synthetic_model(ctx, setup, synthetic)
    if synthetic.private:
        privacy = gan_only_block(ctx, synthetic, setup.public_steps)
        risk = gan_risk(ctx.config, synthetic)
    else:
        privacy, risk = no_private_data_block(ctx, setup.public_steps), dict(NO_RISK)
    metrics = evaluate(ctx, model, setup.data) | gan
    return _output(ctx, setup, metrics, privacy, risk, synthetic, extractor)
