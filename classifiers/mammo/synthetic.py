"""Synthetic data of the ``mammo-cls`` reference methods: the conditional GAN and its samples.

Where the GAN comes from decides what the synthetic data may carry:

- ``public`` (default): trained on the public split only; no private record is touched,
  no budget is spent (a public step of the ledger). Cached per (configuration, seed).
- ``private-dp``: the discriminator is trained with DP-SGD on the private training split
  through ``ledger.train`` at ``gan_budget_share`` of the cell's budget; the ledger
  composes it with the classifier's run. Never cached (every cell that uses it runs it
  through its own ledger), never at epsilon = inf: a non-private GAN of the private data
  is exactly the leak of the original study.
- ``gan_checkpoint``: a generator trained elsewhere on public data (the checkpoint must
  say so, and match the configured shape).
- ``published``: study B's published synthetic set (``synthetic_root``), to reproduce its
  pipeline as published. Its GAN was trained *without* DP on the CBIS-DDSM training
  patients, so the cell's ledger records that access as unprotected and voids the
  epsilon: the record claims none (achieved epsilon null, at every target), and the
  leaderboard refuses it a DP row. The classifier's own DP-SGD run is still calibrated and
  recorded (its sigma, q and steps), so the runs compare with the DP sources at one grid.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bench.errors import BenchError
from bench.privacy.budget import PrivacyBudget
from bench.tasks.mammo_cls.api import MammoView, Split, load_published_synthetic
from classifiers.mammo.checkpoints import artifact_key, cached, file_key, load_checkpoint

KIND = "cgan-generator"


def gan_meta(config, image_size: int, source: str) -> dict:
    """The shape a generator checkpoint must have (and where its data came from)."""
    return {
        "image_size": image_size,
        "width": config.gan_width,
        "nz": 100,
        "embed_dim": 50,
        "classes": 2,
        "source": source,
    }


def check_gan_inputs(config, budget: PrivacyBudget, image_size: int) -> None:
    """Fail before any training on a GAN request that cannot be honoured."""
    if (config.gan_source == "published") != bool(config.synthetic_root):
        raise BenchError(
            "gan_source=published and synthetic_root=DIR go together (study B's published "
            f"synthetic set); got gan_source={config.gan_source}, "
            f"synthetic_root={config.synthetic_root!r}"
        )
    if config.gan_source == "published":
        if config.gan_checkpoint:
            raise BenchError("gan_checkpoint is a generator; it excludes gan_source=published")
        _published(config, image_size)  # a missing folder or too few patches fail here
        return
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
        path = Path(config.gan_checkpoint).expanduser()
        load_checkpoint(path, KIND, gan_meta(config, image_size, "public"))


def _cgan_config(config, image_size: int):
    from generators.cgan import CGANConfig

    return CGANConfig(image_size=image_size, width=config.gan_width)


def _train(ctx, view: MammoView, ledger, share: float | None):
    """A trainer for :func:`cached`: trains G (and a throw-away D).

    ``share`` set: the discriminator trains on the private split through the ledger.
    The snapshot kept is the one with the lowest class-conditional FID to the *public*
    patches (every ``gan_select_every`` epochs): selection on public data only, so it
    costs no privacy even when the discriminator saw private data.
    """
    import torch

    from classifiers.training import to_input
    from generators.cgan import Discriminator, GANSchedule, Selection, train_cgan

    config = ctx.config

    def train(g) -> dict:
        schedule = GANSchedule(epochs=config.gan_epochs, batch_size=config.gan_batch)
        d = Discriminator(_cgan_config(config, view.image_size))
        if share is None:
            data = (to_input(view.public.images), torch.as_tensor(view.public.labels))
        else:
            data = view.train.map(lambda x, y: (to_input(x), y), "scaled to [-1, 1]")
        every = config.gan_select_every
        select = Selection(_public_fid(config, view.public, ctx.device), every) if every else None
        train_cgan(
            g, d, data, schedule, ledger=ledger, share=share or 1.0, device=ctx.device,
            select=select, progress=ctx.progress,
        )  # fmt: skip
        return {
            "selected_epoch": select.best_epoch if select else config.gan_epochs,
            "selection": [[e, v] for e, v in select.history] if select else [],
        }

    return train


def _public_fid(config, public: Split, device: str):
    """Mean over classes of FID(synthetic class c, public class c): realism and labels."""
    from bench.metrics.extractors import load_extractor
    from bench.metrics.fid import fid
    from generators.cgan import sample

    extractor = load_extractor(config.select_extractor, config.select_weights)
    reference = _features(extractor, public, device)
    per_class = max(min(config.n_synthetic // 2, 250), 2)

    def score(g) -> float:
        images, labels = sample(g, per_class, seed=0)
        feats = extractor.features(images.numpy(), device=device)
        values = [fid(feats[labels.numpy() == c], reference[public.labels == c]) for c in (0, 1)]
        return float(np.mean(values))

    return score


def generator(ctx, view: MammoView, ledger, share: float | None):
    """The generator of the cell: loaded, cached, or trained (DP when ``share`` is set).

    Returns the generator and what the record states about it.
    """
    from generators.cgan import Generator

    config, size = ctx.config, view.image_size
    if config.gan_checkpoint:
        path = Path(config.gan_checkpoint).expanduser()
        state, meta = load_checkpoint(path, KIND, gan_meta(config, size, "public"))
        g = Generator(_cgan_config(config, size))
        g.load_state_dict(state)
        return g.eval(), {**meta, "checkpoint": str(path), "key": file_key(path)}
    private = share is not None
    budget = _share_of(ctx.budget, share) if private else None
    inputs = {
        "gan": gan_meta(config, size, config.gan_source),
        "schedule": [config.gan_epochs, config.gan_batch, config.gan_select_every],
        "data": view.train_digest if private else view.public.digest(),
        "seed": ctx.derive_seed("gan"),
        "budget": [budget.epsilon, budget.delta, budget.accountant] if private else None,
        "device": ctx.device.split(":")[0],
    }
    key = artifact_key(KIND, inputs)
    trainer = _train(ctx, view, ledger, share)
    meta = gan_meta(config, size, config.gan_source)
    make = lambda: Generator(_cgan_config(config, size))  # noqa: E731
    g, meta = cached(KIND, key, meta, make, trainer, device=ctx.device, store=not private)
    if not private:
        ledger.note_public(
            "malignancy-conditioned GAN training", "public split, with labels", key=key
        )
    return g, {**meta, "key": key}


def _share_of(budget: PrivacyBudget, share: float) -> PrivacyBudget:
    """The GAN's part of the budget as the ledger gives it (for the cache key only)."""
    return PrivacyBudget(budget.epsilon * share, budget.delta * share, budget.accountant)


def _published(config, image_size: int) -> tuple[Split, str]:
    """Study B's published set at the task's patch size, and the folder's content hash."""
    root = Path(config.synthetic_root).expanduser()
    data, digest = load_published_synthetic(root, image_size)
    per_class = config.n_synthetic // 2
    counts = [int((data.labels == c).sum()) for c in (0, 1)]
    if min(counts) < per_class:
        raise BenchError(
            f"synthetic_root {root} holds {counts[0]} benign and {counts[1]} malignant "
            f"patches; n_synthetic={config.n_synthetic} needs {per_class} of each"
        )
    return data, digest


def published(ctx, image_size: int, ledger) -> tuple[Split, dict]:
    """``n_synthetic`` patches of study B's published set (half per class, drawn by the
    cell's seed), recorded in the ledger as an unprotected access that voids epsilon."""
    config = ctx.config
    pool, digest = _published(config, image_size)
    ledger.record_access(
        "published synthetic set (study B's c-DCGAN)",
        f"private training patients, through a GAN trained on them without DP "
        f"({config.synthetic_root})",
        "none: the GAN was trained without differential privacy; nothing trained on its "
        "samples is differentially private with respect to the training patients",
        voids_epsilon=True,
    )
    rng = np.random.default_rng(ctx.derive_seed("synthetic"))
    per_class = config.n_synthetic // 2
    chosen = np.concatenate(
        [rng.choice(np.flatnonzero(pool.labels == c), per_class, replace=False) for c in (0, 1)]
    )
    meta = {
        "source": "published",
        "root": config.synthetic_root,
        "key": digest,
        "differentially_private": False,
    }
    return Split(pool.images[chosen], pool.labels[chosen]), meta


def synthesize(ctx, view: MammoView, ledger, share: float | None) -> tuple[Split, dict]:
    """``n_synthetic`` patches, half per class, from the cell's generator, and its meta."""
    from generators.cgan import sample

    if ctx.config.gan_source == "published":
        return published(ctx, view.image_size, ledger)
    g, meta = generator(ctx, view, ledger, share)
    per_class = ctx.config.n_synthetic // 2
    images, labels = sample(g, per_class, seed=ctx.derive_seed("synthetic"))
    return Split(images.numpy().astype(np.float32), labels.numpy()), meta


def _features(extractor, split: Split, device: str) -> np.ndarray:
    """Features of a fixed split, computed once per process."""
    return extractor.features_once(split.images, split.digest(), device)
