"""The public-data evaluators of ``cardiac-ldm``, trained once per profile and cached.

Segmentation net, phase rule and the 3D FID encoder are part of the metric: they are
trained on public volumes (``--public-data``, default the public phantoms) drawn
with the profile's fixed evaluator seed, whatever the cell's seed, method or epsilon, so
every cell of a grid is scored by the same networks. The slice-wise FID uses the suite's
shipped offline extractor (``phantom-encoder-v1``), and InceptionV3 when the protocol's
``evaluators.inception_weights`` names a local weights file. Every weights SHA-256 goes
into the record.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from bench.checkpoints import cached, load_into
from bench.tasks.base import CellContext

VERSION = 2  # bump with any change to the evaluators' code or targets


@dataclass(frozen=True)
class Evaluators:
    """Trained, frozen evaluators and their description for the record."""

    segmenter: Any
    phase: Any
    slice_extractor: Any
    volume_extractor: Any
    inception: Any
    info: dict[str, Any]


def load_evaluators(ctx: CellContext) -> Evaluators:
    """The cell profile's evaluators, from the cache or trained now on public data."""
    from bench.metrics.extractors import load_extractor
    from bench.tasks.cardiac_ldm import segmentation as ce
    from bench.tasks.cardiac_ldm import volume_encoder as ex
    from bench.tasks.cardiac_ldm.api import AttributeScaler
    from bench.tasks.cardiac_ldm.data import load_public

    config = ctx.settings.evaluators
    data, identity = load_public(ctx, config.volumes, ctx.settings.volume, config.seed)
    trained = {k: v for k, v in dataclasses.asdict(config).items() if k != "inception_weights"}
    base = {"data": identity, "evaluators": trained, "version": VERSION}
    common = {"channels": config.channels, "epochs": config.epochs, "seed": config.seed}
    builders = {
        "segmenter": (
            lambda: ce.make_segmenter(config.channels),
            lambda: ce.train_segmenter(data.images, data.masks, **common, device=ctx.device),
        ),
        "volume-encoder": (
            lambda: ex.VolumeEncoder(config.channels),
            lambda: ex.train_volume_encoder(
                data.images,
                AttributeScaler.fit(data.attributes).transform(data.attributes),
                **common,
                device=ctx.device,
            ),
        ),
    }
    models, hashes = {}, {}
    for kind, (empty, train) in builders.items():
        models[kind], hashes[kind] = _cached_model(ctx, kind, base, empty, train)
    phase = _phase_rule(ctx, models["segmenter"], data)
    slices = load_extractor("phantom-encoder-v1")
    volumes = ex.VolumeExtractor(models["volume-encoder"], hashes["volume-encoder"], ctx.device)
    inception = None
    if config.inception_weights:
        inception = load_extractor("inception-v3", config.inception_weights)
    extractors = [slices.identity(), volumes.describe()]
    info = {
        "evaluators": {"data": identity, **trained, "version": VERSION},
        "weights_sha256": hashes,
        "phase_rule": dataclasses.asdict(phase),
        "fid_extractors": extractors + ([inception.identity()] if inception else []),
        "fid_slices": f"{config.fid_slices} central slices per volume",
    }
    return Evaluators(models["segmenter"], phase, slices, volumes, inception, info)


def _phase_rule(ctx: CellContext, segmenter, data):
    """The ES/ED rule fitted on the segmenter's masks of public volumes with a known phase
    (the masks the rule will see at test time, not the ground truth)."""
    from bench.tasks.cardiac_ldm.segmentation import PhaseRule, segment

    known = data.column("ESED") != -1
    masks = segment(segmenter, data.images[known], ctx.device)
    return PhaseRule.fit(masks, data.spacing_mm, data.column("ESED")[known])


def _cached_model(ctx: CellContext, kind: str, base: dict, empty, train):
    """A frozen evaluator on the cell's device and the SHA-256 of its weights."""

    state, _, sha = cached(
        ctx.task.name, kind, {**base, "kind": kind}, lambda: (train().state_dict(), {}),
        device=ctx.device,
    )  # fmt: skip
    model = empty()
    load_into(model, state, f"cached {kind}")
    return model.to(ctx.device).eval().requires_grad_(False), sha
