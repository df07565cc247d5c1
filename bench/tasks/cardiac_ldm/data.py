"""Execution of ``cardiac-ldm`` cells: data, public parts, DP training, evaluation, record.

One cell: load the private data and split it by subject (a subject's ED and ES frames
stay together), take the public parts (autoencoder, scaling, normalisation, optionally
the pre-trained denoiser; all cached), train the denoiser on the private training split
under the cell's budget (DP-SGD through :func:`bench.privacy.engine.make_private`, or the
same fixed schedule without noise at epsilon = inf), then generate one volume per test
volume, conditioned on its attributes, and score them.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import time
from dataclasses import dataclass

import numpy as np

from bench.errors import BenchError
from bench.privacy.report import PrivateStep
from bench.privacy.risk import RiskQuery, risk_block
from bench.tasks.base import CellContext, CellOutput
from bench.tasks.threads import limit_threads

log = logging.getLogger("bench")
KAPPA = 0.1  # prior size 10 for the ReRo figure, as in the recon-attack task
MIN_SUBJECTS = 3
NMSE_THRESHOLD = 0.1  # a reconstruction within 10% relative squared error counts


@dataclass(frozen=True)
class PrivateSplit:
    """The private data of a cell, split by subject, and its record block."""

    train: object
    test: object
    dataset: dict


def private_split(ctx: CellContext) -> PrivateSplit:
    """Training and test splits of the private data; test data only ever score samples.

    Phantoms: ``train_subjects + test_subjects`` subjects of the ``private`` variant.
    Real data: a seeded permutation of the subjects, ``test_subjects`` of them held out
    (half of them, but at least two, for a data set with fewer subjects than that).

    Raises:
        BenchError: when the data has fewer than three subjects: the evaluation splits
            the held-out subjects in two halves, and one subject is left to train on.
    """
    from bench.datasets import DATASETS
    from bench.datasets.loading import load, subset

    config, seed = ctx.config, ctx.derive_seed("private-data")
    builtin = DATASETS.get(ctx.dataset).builtin
    total = 2 * (config.train_subjects + config.test_subjects) if builtin else None
    data = load(ctx.dataset, root=ctx.data_root, shape=config.volume, n=total, seed=seed)
    subjects = np.array(data.subjects)
    order = np.random.default_rng(seed).permutation(np.unique(subjects))
    if len(order) < MIN_SUBJECTS:
        raise BenchError(
            f"dataset {ctx.dataset!r} has {len(order)} subject(s) at {ctx.data_root}; "
            f"cardiac-ldm needs at least {MIN_SUBJECTS} (two held out, scored in "
            "subject-disjoint halves, and one to train on)"
        )
    held_out = min(config.test_subjects, max(2, len(order) // 2))
    test_ids = set(order[:held_out])
    train_ids = set(order[held_out:][: config.train_subjects])
    test = subset(data, np.flatnonzero([s in test_ids for s in subjects]))
    train = subset(data, np.flatnonzero([s in train_ids for s in subjects]))
    digest = hashlib.sha256(train.images.tobytes() + test.images.tobytes()).hexdigest()[:16]
    block = {
        "name": ctx.dataset,
        "variant": data.variant,
        "train_volumes": len(train),
        "test_volumes": len(test),
        "subjects": len(train_ids) + len(test_ids),
        "shape": list(config.volume),
        "seed": seed,
        "content_hash": digest,
    }
    if not builtin:
        block.update(root_content_hash=data.provenance.root_hash)
    return PrivateSplit(train, test, block)


@limit_threads(lambda ctx: ctx.config.threads)
def run_cell(ctx: CellContext) -> CellOutput:
    """One (method, epsilon, seed) cell of either method (``config.pretrain`` differs)."""
    import torch

    from bench.tasks.cardiac_ldm_eval import evaluate
    from bench.tasks.cardiac_ldm_public import (
        pretrained_denoiser,
        public_parts,
        volumes_to_latents,
    )
    from generators.autoencoder import check_volume_shape
    from generators.ldm import LatentDenoiser, train_only_attention
    from generators.ldm_training import train_denoiser

    config, clock = ctx.config, Stopwatch()
    check_volume_shape(config.volume)
    with clock("data"):
        split = private_split(ctx)
    with clock("autoencoder (public)"):
        parts = public_parts(ctx)
        latents = volumes_to_latents(parts, split.train.images, ctx.device)
        attributes = torch.as_tensor(parts.scaler.transform(split.train.attributes))
    torch.manual_seed(ctx.derive_seed("init"))
    model = LatentDenoiser(config.denoiser, tuple(latents.shape[1:])).to(ctx.device)
    public_info = dict(parts.info)
    if config.pretrain:
        with clock("pre-training (public)"):
            public_info.update(pretrained_denoiser(ctx, parts, model))
    if config.finetune == "attention":
        if not config.pretrain:
            raise BenchError("finetune=attention needs pre-trained weights (pretrain=true)")
        public_info["trainable_parameters"] = train_only_attention(model)
    with clock("private training"):
        training = train_denoiser(
            model, latents, attributes, ctx.budget, schedule(config), config.diffusion,
            seed=ctx.derive_seed("train", ctx.cell.method, ctx.cell.epsilon),
            device=ctx.device, progress=ctx.progress,
        )  # fmt: skip
    metrics, evaluation = evaluate(ctx, model.eval(), parts, split.test, clock)
    privacy = training.privacy(private_steps(ctx), ctx.task.privacy_unit)
    privacy["public_data_steps"] = public_steps(config.pretrain)
    with clock("risk bounds"):
        risk = risk_block(_risk_query(training, int(latents[0].numel())))
    dataset = {**split.dataset, "public_parts": public_info, "evaluation": evaluation,
               "stage_seconds": clock.seconds}  # fmt: skip
    return CellOutput(metrics, privacy, risk, dataset)


class Stopwatch:
    """Wall-clock seconds per named stage (the record's ``dataset.stage_seconds``).

    >>> clock = Stopwatch()
    >>> with clock("data"):
    ...     pass
    >>> list(clock.seconds)
    ['data']
    """

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextlib.contextmanager
    def __call__(self, stage: str):
        start = time.perf_counter()
        try:
            yield
        finally:
            elapsed = time.perf_counter() - start
            self.seconds[stage] = round(self.seconds.get(stage, 0.0) + elapsed, 3)
            log.info("cardiac-ldm %s: %.1f s", stage, elapsed)


def schedule(config):
    from generators.ldm_config import TrainSchedule

    return TrainSchedule(
        epochs=config.epochs,
        batch_size=config.batch_size,
        lr=config.lr,
        max_grad_norm=config.max_grad_norm,
        physical_batch=config.physical_batch,
        cfg_dropout=config.cfg_dropout,
    )


def private_steps(ctx: CellContext) -> list[PrivateStep]:
    """Every step that read private data, and how it was protected."""
    attention = ctx.config.finetune == "attention"
    parts = "attention blocks + attribute embedder" if attention else "UNet + attribute embedder"
    trained = f"{parts}, " + ("fine-tuned" if ctx.config.pretrain else "trained")
    protection = (
        "DP-SGD: Poisson sampling, per-sample clipping, calibrated Gaussian noise, accounted"
        if ctx.budget.is_private
        else "none: non-private baseline (epsilon = inf), same fixed schedule"
    )
    return [
        PrivateStep(
            f"denoiser training ({trained})",
            "private training split: latents of the frozen public autoencoder (a fixed "
            "per-record map) and attributes scaled with public statistics",
            protection,
        ),
        PrivateStep(
            "evaluation",
            "held-out private test split: FID reference images, requested attributes, "
            "real-data reference metrics",
            "none: scores only, nothing is trained, selected or stopped on them; the metric "
            "values themselves are not differentially private",
        ),
    ]


def public_steps(pretrain: bool) -> list[str]:
    """What was derived from public data only (privacy rule 1)."""
    steps = [
        "autoencoder weights (trained on public volumes, frozen)",
        "latent scaling factor (1 / std of public latents)",
        "attribute normalisation (min/max of public attributes)",
        "evaluators: segmentation net, ES/ED phase rule, 3D FID feature extractor",
    ]
    return (["denoiser pre-training (non-private, public data)"] if pretrain else []) + steps


def _risk_query(training, dim: int) -> RiskQuery:
    """The prior-free and ReRo risk of the denoiser's DP-SGD, on a latent of ``dim`` values.

    The prior-free bound depends on the normalised error only (C cancels), so the target
    norm is 1 and eta = r / dim: no statistic of the private data enters the record.
    """
    cal = training.calibration
    return RiskQuery(
        sigma=cal.sigma,
        sample_rate=cal.sample_rate,
        steps=training.steps_taken() or cal.steps,
        dim=dim,
        norm=1.0,
        mse_threshold=NMSE_THRESHOLD / dim,
        kappa=KAPPA,
    )
