"""Scoring of a ``cardiac-ldm`` cell: sample, decode, FID, diversity, controllability.

One volume is generated per test volume, conditioned on that volume's attributes. The
test set is split in halves by subject (A, B), as in study A; to give the real-vs-real
floor the same sample sizes and independence, the generated halves are compared
crosswise, FID = (FID(gen_A, real_B) + FID(gen_B, real_A)) / 2 against the floor
FID(real_A, real_B). Diversity pairs volume i of A with volume i of B (different
subjects), for generated and real volumes alike.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bench.tasks.base import CellContext


def split_halves(subjects: tuple[str, ...], seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices of two halves of a test set, split by subject (equal sizes).

    >>> a, b = split_halves(("0", "0", "1", "1", "2", "2", "3", "3"), seed=0)
    >>> len(a), len(b), sorted({s // 2 for s in a}.isdisjoint({s // 2 for s in b}) for _ in [0])
    (4, 4, [True])
    """
    ids = np.array(subjects)
    order = np.random.default_rng(seed).permutation(np.unique(ids))
    first = set(order[: len(order) // 2])
    in_a = np.array([s in first for s in ids])
    a, b = np.flatnonzero(in_a), np.flatnonzero(~in_a)
    size = min(len(a), len(b))
    return a[:size], b[:size]


def crosswise_fid(features, real: np.ndarray, fake: np.ndarray, halves) -> float:
    """(FID(fake_A, real_B) + FID(fake_B, real_A)) / 2 with ``features`` of each set."""
    from bench.metrics.fid import fid

    a, b = halves
    return 0.5 * (
        fid(features(fake[a]), features(real[b])) + fid(features(fake[b]), features(real[a]))
    )


def fid_metrics(evaluators, real, generated, reconstructed, halves, slices: int) -> dict:
    """Slice-wise (offline encoder, Inception if given) and 3D FIDs, with their floors."""
    from bench.metrics.extractors_cardiac import central_slices
    from bench.metrics.fid import fid

    def slice_features(extractor):
        return lambda volumes: extractor.features(central_slices(volumes, slices))

    a, b = halves
    per_slice = slice_features(evaluators.slice_extractor)
    per_volume = evaluators.volume_extractor.features
    out = {
        "fid": crosswise_fid(per_slice, real, generated, halves),
        "fid_floor": fid(per_slice(real[a]), per_slice(real[b])),
        "fid_reconstruction": crosswise_fid(per_slice, real, reconstructed, halves),
        "fid_3d": crosswise_fid(per_volume, real, generated, halves),
        "fid_3d_floor": fid(per_volume(real[a]), per_volume(real[b])),
    }
    if evaluators.inception is not None:
        inception = slice_features(evaluators.inception)
        out["fid_inception"] = crosswise_fid(inception, real, generated, halves)
        out["fid_inception_floor"] = fid(inception(real[a]), inception(real[b]))
    return out


def control_metrics(evaluators, volumes, attributes, spacing, device, suffix="") -> dict:
    """Controllability of ``volumes`` against the requested raw ``attributes``."""
    from bench.metrics.cardiac_evaluators import segment
    from bench.metrics.controllability import controllability, measure

    masks = segment(evaluators.segmenter, volumes, device)
    phase = evaluators.phase.predict(masks, spacing)
    metrics = controllability(measure(masks, spacing), phase, attributes)
    return {k + suffix: v for k, v in metrics.items()}


def generate(ctx: CellContext, model, parts, attributes: np.ndarray) -> np.ndarray:
    """One volume per row of raw ``attributes`` (n, 14), decoded to (n, D, H, W)."""
    import torch

    from generators.autoencoder import decode_latents
    from generators.ldm import sample_latents

    config = ctx.config
    scaled = torch.as_tensor(parts.scaler.transform(attributes)).to(ctx.device)
    shape = tuple(parts.latents.shape[1:])
    generator = torch.Generator(ctx.device).manual_seed(
        ctx.derive_seed("sample", ctx.cell.method, ctx.cell.epsilon)
    )
    latents = [
        sample_latents(
            model, chunk, shape, config.diffusion, sampler=config.sampler,
            steps=config.sample_steps, guidance=config.guidance, generator=generator,
        ).cpu()
        for chunk in scaled.split(config.physical_batch)
    ]  # fmt: skip
    return decode_latents(parts.autoencoder, torch.cat(latents) / parts.scale, ctx.device)


def evaluate(
    ctx: CellContext, model, parts, test, clock
) -> tuple[dict[str, float], dict[str, Any]]:
    """All metrics of the cell, and the evaluation block of its record."""
    from bench.tasks.cardiac_ldm_evaluators import load_evaluators
    from bench.tasks.cardiac_ldm_outputs import write_outputs

    with clock("evaluators (public, cached)"):
        evaluators = load_evaluators(ctx)
    with clock("sampling"):
        generated = generate(ctx, model, parts, test.attributes)
    with clock("metrics"):
        metrics = _metrics(ctx, evaluators, parts, test, generated)
    with clock("outputs"):
        write_outputs(ctx, test, generated)
    halves = split_halves(test.subjects, ctx.derive_seed("halves"))
    return metrics, {**evaluators.info, "test_halves": [len(halves[0]), len(halves[1])]}


def _metrics(ctx: CellContext, evaluators, parts, test, generated) -> dict[str, float]:
    from bench.metrics.msssim import pairwise_ms_ssim
    from bench.tasks.cardiac_ldm import EVALUATORS
    from generators.autoencoder import decode_latents, encode_volumes

    reconstructed = decode_latents(
        parts.autoencoder, encode_volumes(parts.autoencoder, test.images, ctx.device), ctx.device
    )
    halves = split_halves(test.subjects, ctx.derive_seed("halves"))
    slices = EVALUATORS[ctx.profile].fid_slices
    used = np.concatenate(halves)
    partners = np.concatenate([np.arange(len(halves[0])) + len(halves[0]),
                               np.arange(len(halves[0]))])  # fmt: skip
    spacing = test.spacing_mm
    return {
        **fid_metrics(evaluators, test.images, generated, reconstructed, halves, slices),
        "msssim_generated": pairwise_ms_ssim(generated[used], partners),
        "msssim_real": pairwise_ms_ssim(test.images[used], partners),
        **control_metrics(evaluators, generated, test.attributes, spacing, ctx.device),
        **control_metrics(evaluators, test.images, test.attributes, spacing, ctx.device, "_real"),
    }
