"""The four ``mammo-cls`` reference regimes: ``run(ctx, view, ledger) -> MammoArtifact``.

Every regime starts from the same public pre-trained classifier (cached per seed), and
every step on private data goes through the cell's ledger with a fixed schedule: no
validation split, no early stopping, no model selection, so nothing escapes the
accountant. The methods never see a test patch: the task scores the returned classifier.
"""

from __future__ import annotations

import copy

import numpy as np

from bench.tasks.mammo_cls.api import MammoArtifact, MammoView
from classifiers.mammo.backbone import check_backbone_inputs, public_classifier, synthetic_model
from classifiers.mammo.schedule import train_model
from classifiers.mammo.synthetic import check_gan_inputs, synthesize


class TorchClassifier:
    """A torch classifier (logits of benign, malignant) as the task's ``Classifier``."""

    def __init__(self, model, device: str = "cpu") -> None:
        self.model, self.device = model, device

    def scores(self, images: np.ndarray) -> np.ndarray:
        from classifiers.training import malignancy_scores, to_input

        return malignancy_scores(self.model, to_input(images), device=self.device)


def _start(ctx, view: MammoView, ledger, synthetic: bool = False):
    """Check every input first (no training is wasted on a bad path), then the backbone."""
    check_backbone_inputs(ctx.config, view.image_size)
    if synthetic:
        check_gan_inputs(ctx.config, ctx.budget, view.image_size)
    return public_classifier(ctx, view, ledger)


def _fresh(ctx, model):
    return copy.deepcopy(model).reset_head(ctx.derive_seed("head"))


def _artifact(ctx, model, synthetic=None, gan=None) -> MammoArtifact:
    info = {"gan": gan} if gan is not None else {}
    return MammoArtifact(TorchClassifier(model, ctx.device), synthetic, info)


def run_real(ctx, view: MammoView, ledger) -> MammoArtifact:
    """``dp-vit-real``: DP-SGD on the private training split only."""
    base, _ = _start(ctx, view, ledger)
    model = _fresh(ctx, base)
    train_model(ctx, model, view.train, ledger)
    return _artifact(ctx, model)


def _synthetic(ctx, view: MammoView, ledger, share: float):
    """The synthetic set; a DP GAN (``gan_source=private-dp``) takes ``share`` of the budget."""
    private = ctx.config.gan_source == "private-dp"
    return synthesize(ctx, view, ledger, share if private else None)


def _classify_with_synthetic(ctx, view: MammoView, ledger, pretrain: bool) -> MammoArtifact:
    """``dp-vit-real+syn`` (DP over the union) or ``dp-vit-synpre`` (DP fine-tuning)."""
    base, base_key = _start(ctx, view, ledger, synthetic=True)
    synthetic, gan = _synthetic(ctx, view, ledger, ctx.config.gan_budget_share)
    if pretrain:
        model = copy.deepcopy(
            _synthetic_model(ctx, view, ledger, base, base_key, synthetic, gan["key"])
        )
        data = view.train
    else:
        model = _fresh(ctx, base)
        data = view.train.with_public(synthetic.images, synthetic.labels, what="synthetic patches")
    train_model(ctx, model, data, ledger, share=ledger.share_left())
    return _artifact(ctx, model, synthetic, gan)


def _synthetic_model(ctx, view, ledger, base, base_key, synthetic, gan_key):
    if ctx.config.gan_source != "published":  # published: an unprotected access, recorded
        ledger.note_public(
            "classifier training on synthetic patches",
            "samples of the GAN (post-processing: no private record is read)",
            key=gan_key,
        )
    return synthetic_model(ctx, base, base_key, synthetic, gan_key, view.image_size)


def run_real_syn(ctx, view: MammoView, ledger) -> MammoArtifact:
    """``dp-vit-real+syn``: DP-SGD over the union of real and synthetic patches."""
    return _classify_with_synthetic(ctx, view, ledger, pretrain=False)


def run_synpre(ctx, view: MammoView, ledger) -> MammoArtifact:
    """``dp-vit-synpre``: pre-training on synthetic patches, DP fine-tuning on real ones."""
    return _classify_with_synthetic(ctx, view, ledger, pretrain=True)


def run_syn_only(ctx, view: MammoView, ledger) -> MammoArtifact:
    """``vit-syn-only``: synthetic patches only; a DP GAN gets the whole budget."""
    base, base_key = _start(ctx, view, ledger, synthetic=True)
    synthetic, gan = _synthetic(ctx, view, ledger, 1.0)
    model = _synthetic_model(ctx, view, ledger, base, base_key, synthetic, gan["key"])
    return _artifact(ctx, model, synthetic, gan)
