"""Synthetic data of ``mammo-cls``: the conditional GAN, its samples, its FID and its privacy.

Where the GAN comes from decides what the synthetic data may carry:

- ``public`` (default): trained on the public split only; no private record is touched,
  no budget is spent. Cached per (configuration, seed).
- ``private-dp``: the discriminator is trained with DP-SGD on the private training split
  at ``gan_budget_share`` of the cell's epsilon (and half its delta); the achieved
  history (sigma, q, T) is read back from its accountant and composed with the
  classifier's by the accountant of the record. Never at epsilon = inf: a non-private
  GAN of the private data is exactly the leak of the original study.
- ``gan_checkpoint``: a generator trained elsewhere on public data (the checkpoint must
  say so, and match the configured shape).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bench.errors import BenchError
from bench.privacy.budget import PrivacyBudget
from bench.tasks.mammo_cls_data import MammoData, Split
from bench.tasks.mammo_cls_models import artifact_key, cached, file_key, load_checkpoint

KIND = "cgan-generator"


@dataclass(frozen=True)
class Synthetic:
    """Synthetic patches in [0, 1], their labels, and the GAN they came from.

    Attributes:
        history: the GAN's DP runs ``[(sigma, q, steps)]``; empty for a public GAN.
        gan: what the record states about the GAN (source, key, budget).
    """

    images: np.ndarray
    labels: np.ndarray
    history: list = field(default_factory=list)
    gan: dict = field(default_factory=dict)

    @property
    def private(self) -> bool:
        return bool(self.history)


def gan_meta(config, source: str) -> dict:
    """The shape a generator checkpoint must have (and where its data came from)."""
    return {
        "image_size": config.image_size,
        "width": config.gan_width,
        "nz": 100,
        "embed_dim": 50,
        "classes": 2,
        "source": source,
    }


def gan_budget(budget: PrivacyBudget, share: float) -> PrivacyBudget:
    """The GAN's part of a budget: ``share`` of epsilon and half of delta.

    The classifier gets the rest of epsilon and the other half of delta, so basic
    composition alone already bounds the total by (epsilon, delta); the record reports
    the tighter epsilon of the accountant composing both runs.
    """
    return PrivacyBudget(budget.epsilon * share, budget.delta / 2, budget.accountant)


def check_gan_inputs(config, budget: PrivacyBudget) -> None:
    """Fail before any training on a GAN request that cannot be honoured."""
    if config.gan_source == "private-dp" and not budget.is_private:
        raise BenchError(
            "gan_source=private-dp at eps=inf would train a non-private GAN on the private "
            "data, the leak this task exists to avoid; use gan_source=public for eps=inf"
        )
    if config.gan_source == "private-dp" and config.gan_checkpoint:
        raise BenchError("gan_checkpoint is a public generator; it excludes gan_source=private-dp")
    if not 0 < config.gan_budget_share < 1:
        raise BenchError(f"gan_budget_share must be in (0, 1), got {config.gan_budget_share}")
    if config.gan_checkpoint:
        load_checkpoint(Path(config.gan_checkpoint).expanduser(), KIND, gan_meta(config, "public"))


def _cgan_config(config):
    from generators.cgan import CGANConfig

    return CGANConfig(image_size=config.image_size, width=config.gan_width)


def _train(config, images, labels, budget: PrivacyBudget, ctx, public: Split):
    """A trainer for :func:`cached`: trains G (and a throw-away D), returns the history.

    The snapshot kept is the one with the lowest class-conditional FID to the *public*
    patches (every ``gan_select_every`` epochs): selection on public data only, so it
    costs no privacy even when the discriminator saw private data.
    """
    import torch

    from classifiers.training import to_input
    from generators.cgan import Discriminator, GANSchedule, Selection, train_cgan

    def train(g) -> dict:
        schedule = GANSchedule(epochs=config.gan_epochs, batch_size=config.gan_batch)
        d = Discriminator(_cgan_config(config))
        x, y = to_input(images), torch.as_tensor(labels)
        every = config.gan_select_every
        select = Selection(_public_fid(config, public, ctx.device), every) if every else None
        training = train_cgan(
            g, d, x, y, schedule, budget, device=ctx.device, select=select, progress=ctx.progress
        )
        history = training.engine.accountant.history if training.engine is not None else []
        return {
            "history": [[float(s), float(q), int(t)] for s, q, t in history],
            "achieved_epsilon": training.achieved_epsilon() if budget.is_private else None,
            "selected_epoch": select.best_epoch if select else config.gan_epochs,
            "selection": [[e, v] for e, v in select.history] if select else [],
        }

    return train


def _public_fid(config, public: Split, device: str):
    """Mean over classes of FID(synthetic class c, public class c): realism and labels."""
    from bench.metrics.extractors import load_extractor
    from bench.metrics.fid import fid
    from generators.cgan import sample

    extractor = load_extractor(config.fid_extractor, config.fid_weights)
    reference = _features(extractor, public, device)
    per_class = max(min(config.n_synthetic // 2, 250), 2)

    def score(g) -> float:
        images, labels = sample(g, per_class, seed=0)
        feats = extractor.features(images.numpy(), device=device)
        values = [fid(feats[labels.numpy() == c], reference[public.labels == c]) for c in (0, 1)]
        return float(np.mean(values))

    return score


def generator(ctx, data: MammoData, budget: PrivacyBudget | None):
    """The generator of the cell: loaded, cached, or trained (DP when ``budget`` is set)."""
    from generators.cgan import Generator

    config = ctx.config
    if config.gan_checkpoint:
        path = Path(config.gan_checkpoint).expanduser()
        state, meta = load_checkpoint(path, KIND, gan_meta(config, "public"))
        g = Generator(_cgan_config(config))
        g.load_state_dict(state)
        return g.eval(), {**meta, "checkpoint": str(path), "key": file_key(path)}
    private = budget is not None
    split = data.train if private else data.public
    inputs = {
        "gan": gan_meta(config, config.gan_source),
        "schedule": [config.gan_epochs, config.gan_batch, config.gan_select_every],
        "data": split.digest(),
        "seed": ctx.derive_seed("gan"),
        "budget": [budget.epsilon, budget.delta, budget.accountant] if private else None,
        "device": ctx.device.split(":")[0],
    }
    key = artifact_key(KIND, inputs)
    budget = budget or _no_budget(ctx)
    trainer = _train(config, split.images, split.labels, budget, ctx, data.public)
    meta = gan_meta(config, config.gan_source)
    g, meta = cached(KIND, key, meta, lambda: Generator(_cgan_config(config)), trainer)
    return g, {**meta, "key": key}


def _no_budget(ctx) -> PrivacyBudget:
    return PrivacyBudget(float("inf"), ctx.task.delta, ctx.budget.accountant)


def synthesize(ctx, data: MammoData, budget: PrivacyBudget | None) -> Synthetic:
    """``n_synthetic`` patches, half per class, from the cell's generator."""
    from generators.cgan import sample

    g, meta = generator(ctx, data, budget)
    per_class = ctx.config.n_synthetic // 2
    images, labels = sample(g, per_class, seed=ctx.derive_seed("synthetic"))
    history = [tuple(run) for run in meta.get("history", [])]
    return Synthetic(images.numpy().astype(np.float32), labels.numpy(), history, meta)


def gan_metrics(config, synthetic: Synthetic, data: MammoData, device: str) -> tuple[dict, dict]:
    """FID of synthetic vs internal-test and vs public patches, a real-vs-real floor, counts.

    Returns the metrics and the extractor's identity for the record.
    """
    from bench.metrics.extractors import load_extractor
    from bench.metrics.fid import fid

    extractor = load_extractor(config.fid_extractor, config.fid_weights)
    syn, test, public = (
        _features(extractor, split, device)
        for split in (Split(synthetic.images, synthetic.labels), data.test, data.public)
    )
    half = len(test) // 2
    metrics = {
        "fid": fid(syn, test),
        "fid_public": fid(syn, public),
        "fid_floor": fid(test[:half], test[half:]),
        "synthetic_benign": float(np.sum(synthetic.labels == 0)),
        "synthetic_malignant": float(np.sum(synthetic.labels == 1)),
    }
    return metrics, extractor.identity()


_FEATURES: dict = {}


def _features(extractor, split: Split, device: str) -> np.ndarray:
    """Features of a split, computed once per process (the same test set serves every cell)."""
    key = (extractor.weights_sha256, extractor.spec.name, split.digest())
    if key not in _FEATURES:
        if len(_FEATURES) > 16:
            _FEATURES.clear()
        _FEATURES[key] = extractor.features(split.images, device=device)
    return _FEATURES[key]
