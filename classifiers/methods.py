"""The reference methods of ``mammo-cls``: their configs and registration (import-light).

Four regimes of study B differ in how synthetic data from a malignancy-conditioned GAN
are used; all start from the same public pre-trained ViT and train on the private
training split only through the cell's privacy ledger. The GAN is trained on public data
(default) or with DP on the private split, its share of the budget then composed with
the classifier's by the ledger. Execution: :mod:`classifiers.mammo.regimes`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from bench.tasks import register_method
from bench.tasks.base import MethodSpec, lazy


@dataclass(frozen=True)
class ClassifierConfig:
    """Backbone and DP training of the classifier (every regime).

    Attributes:
        backbone: ``vit`` (this suite's opacus-ready ViT), ``resnet-gn`` (MONAI's GroupNorm
            ResNet, :mod:`classifiers.cnn`) or ``swin-t`` (torchvision, ImageNet weights
            from ``pretrained_weights``, head-only).
        pretrained_weights: ``vit``, ``resnet-gn``: a checkpoint replacing public
            pre-training;
            ``swin-t``: the torchvision ImageNet state dict (required).
        pretrain: public pre-training of the ViT backbone: ``simclr`` (self-supervised,
            no labels: the ImageNet analogue), ``supervised`` (public malignancy labels)
            or ``none`` (random initialisation).
        vit_dim, vit_depth, vit_heads, vit_patch: the ViT's shape (the ResNet's is fixed:
            :class:`classifiers.cnn.CNNConfig`'s defaults; a new field here would change
            every committed record's config, and its hash, for a setting no record uses).
        train: ``full`` (every parameter under DP) or ``head`` (frozen backbone, MLP head).
        epochs, batch_size, lr, weight_decay, label_smoothing, max_grad_norm, augment: the
            fixed DP-SGD schedule on private data (AdamW; C = max_grad_norm).
    """

    backbone: Literal["vit", "resnet-gn", "swin-t"] = "vit"
    pretrained_weights: str = ""
    pretrain: Literal["simclr", "supervised", "none"] = "simclr"
    pretrain_epochs: int = 40
    vit_dim: int = 64
    vit_depth: int = 4
    vit_heads: int = 4
    vit_patch: int = 8
    head_hidden: int = 0
    train: Literal["full", "head"] = "full"
    epochs: int = 10
    batch_size: int = 128
    lr: float = 1e-3
    weight_decay: float = 0.05
    label_smoothing: float = 0.1
    max_grad_norm: float = 1.0
    augment: bool = True


@dataclass(frozen=True)
class SyntheticConfig(ClassifierConfig):
    """A classifier config plus the GAN and the synthetic data.

    Attributes:
        gan_source: ``public`` (trained on the public split, no budget), ``private-dp``
            (discriminator under DP-SGD on the private training split, at
            ``gan_budget_share`` of the budget; the classifier gets the rest) or
            ``published`` (study B's published synthetic set from ``synthetic_root``: its
            GAN saw the training patients without DP, so the record claims no epsilon).
        gan_checkpoint: a public-data generator checkpoint to use instead of training.
        synthetic_root: the folder of study B's ``batch_<b>_<i>_<class>.png`` patches
            (``gan_source=published`` only).
        gan_width, gan_epochs, gan_batch: GAN size and schedule.
        gan_select_every: score the generator every so many epochs by its
            class-conditional FID to the public patches and keep the best snapshot
            (public data only, so free of privacy cost); 0 keeps the last one.
        select_extractor, select_weights: the feature extractor of that selection FID.
        n_synthetic: synthetic patches, half per class.
        syn_epochs, syn_lr: full-model training on synthetic data (``vit-syn-only`` and
            the pre-training of ``dp-vit-synpre``).
    """

    gan_source: Literal["public", "private-dp", "published"] = "public"
    gan_checkpoint: str = ""
    synthetic_root: str = ""
    gan_width: int = 16
    gan_epochs: int = 60
    gan_batch: int = 64
    gan_select_every: int = 10
    gan_budget_share: float = 0.5
    select_extractor: Literal["phantom-encoder-v1", "inception-v3"] = "phantom-encoder-v1"
    select_weights: str = ""
    n_synthetic: int = 1000
    syn_epochs: int = 10
    syn_lr: float = 1e-3


_SMOKE = dict(pretrain_epochs=1, vit_dim=32, vit_depth=1, epochs=1, batch_size=32)
_SMOKE_GAN = dict(gan_width=8, gan_epochs=1, gan_batch=32, n_synthetic=64, syn_epochs=1)
_PAPER = dict(
    pretrain_epochs=100,
    vit_dim=192,
    vit_depth=6,
    vit_heads=3,
    vit_patch=16,
    epochs=300,
    batch_size=128,
)
_PAPER_GAN = dict(gan_width=64, gan_epochs=100, n_synthetic=3000, syn_epochs=30)


def _profiles(config) -> dict:
    extra = isinstance(config, SyntheticConfig)
    return {
        "smoke": replace(config, **_SMOKE, **(_SMOKE_GAN if extra else {})),
        "small": config,
        "paper": replace(config, **_PAPER, **(_PAPER_GAN if extra else {})),
    }


_REGIMES = {
    "dp-vit-real": ("DP-SGD on the real private training split only", "run_real"),
    "dp-vit-real+syn": ("DP-SGD over the union of real and synthetic patches", "run_real_syn"),
    "dp-vit-synpre": (
        "full-model pre-training on synthetic patches, then DP fine-tuning on real",
        "run_synpre",
    ),
    "vit-syn-only": (
        "trained on synthetic patches only; no private data after the GAN",
        "run_syn_only",
    ),
}
for _name, (_text, _function) in _REGIMES.items():
    register_method(
        MethodSpec(
            task="mammo-cls",
            name=_name,
            description=_text,
            configs=_profiles(ClassifierConfig() if _name == "dp-vit-real" else SyntheticConfig()),
            run=lazy(f"classifiers.mammo.regimes:{_function}"),
        )
    )
