"""The ``cardiac-ldm`` protocol: prepare the view, score the generator, state the risk.

- :meth:`CardiacProtocol.prepare` splits the private data by subject, puts the training
  split behind the ledger and hands the method the public volumes with it; the test
  split stays here.
- :meth:`CardiacProtocol.score` records the evaluation access, asks the artifact for one
  volume per test volume (conditioned on its attributes, with the cell's sampling seed)
  and for the autoencoder round trip of the test volumes when it has one, and scores
  them with the public evaluators.
- :meth:`CardiacProtocol.risk`: the prior-free and ReRo risk of the ledger's DP run in
  the task's units (:attr:`CardiacSettings.risk_dim` values per record).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from bench.privacy.ledger import PrivacyLedger
from bench.tasks.base import CellContext, Prepared, Scored
from bench.tasks.cardiac_ldm import scoring as sc
from bench.tasks.cardiac_ldm.api import CardiacView, PublicVolumes, Stopwatch
from bench.tasks.cardiac_ldm.data import load_public, private_split, sample_ids

EVALUATION_DATA = (
    "held-out private test split: FID reference images, requested attributes, "
    "real-data reference metrics"
)


@dataclass(frozen=True)
class Held:
    """What only the task sees: the test split and the seconds of its own stages."""

    test: Any
    clock: Stopwatch


class CardiacProtocol:
    """The three steps the task owns in every cell."""

    def prepare(self, ctx: CellContext, ledger: PrivacyLedger) -> Prepared:
        settings, clock = ctx.settings, Stopwatch()
        with clock("data"):
            split = private_split(ctx)
            public, identity = load_public(
                ctx, settings.public_volumes, settings.volume, ctx.derive_seed("public-data")
            )
        train = split.train
        private = ledger.hold("private training split", train.images, train.attributes)
        view = CardiacView(
            public=PublicVolumes(public.images, public.attributes, public.spacing_mm, identity),
            private=private,
            volume_shape=tuple(settings.volume),
        )
        dataset = {**split.dataset, "public_volumes": identity}
        return Prepared(view, Held(split.test, clock), dataset)

    def score(
        self, ctx: CellContext, prepared: Prepared, artifact: Any, ledger: PrivacyLedger
    ) -> Scored:
        from bench.tasks.cardiac_ldm.evaluators import load_evaluators
        from bench.tasks.cardiac_ldm.outputs import write_outputs

        test, clock = prepared.held.test, prepared.held.clock
        ledger.record_evaluation(EVALUATION_DATA)
        with clock("evaluators (public)"):  # trained, or from the cache: the display says
            evaluators = load_evaluators(ctx)
        ledger.note_public(
            "evaluators: segmentation net, ES/ED phase rule, 3D FID feature extractor",
            f"{ctx.settings.evaluators.volumes} public volumes (fixed evaluator seed)",
            weights_sha256=evaluators.info["weights_sha256"],
        )
        with clock("sampling"):
            seed = ctx.derive_seed("sample", ctx.cell.method, ctx.cell.epsilon)
            generated = sc.generate_checked(artifact, test.attributes, seed, ctx.settings.volume)
        with clock("metrics"):
            halves = sc.split_halves(test.subjects, ctx.derive_seed("halves"))
            metrics, outputs = _metrics(ctx, evaluators, artifact, test, generated, halves)
        with clock("outputs"):
            write_outputs(ctx, test, generated)
        evaluation = {**evaluators.info, "test_halves": [len(halves[0]), len(halves[1])]}
        details = {
            "evaluation": evaluation,
            "artifact": dict(getattr(artifact, "info", None) or {}),
            "stage_seconds": clock.seconds,
        }
        return Scored(metrics, outputs, details)

    def risk(self, ctx: CellContext, ledger: PrivacyLedger) -> dict[str, Any]:
        from bench.privacy.risk import run_risk

        runs = ledger.runs
        if not runs:
            return {"note": "no model was trained on private data"}
        settings, run = ctx.settings, runs[-1]
        dim = settings.risk_dim
        # The prior-free bound depends on the normalised error only (C cancels), so the
        # target norm is 1 and eta = r / dim: no statistic of the private data enters the
        # record.
        risk = run_risk(
            run, dim=dim, norm=1.0, mse_threshold=settings.risk_nmse / dim,
            kappa=settings.risk_kappa,
        )  # fmt: skip
        return {"run": run["name"], **risk}


def _metrics(ctx, evaluators, artifact, test, generated, halves):
    slices = ctx.settings.evaluators.fid_slices
    features = {
        "real": sc.volume_features(evaluators, test.images, slices),
        "generated": sc.volume_features(evaluators, generated, slices),
    }
    if callable(getattr(artifact, "reconstruct", None)):
        shape = test.images.shape
        rebuilt = np.asarray(artifact.reconstruct(np.array(test.images, copy=True)), np.float32)
        rebuilt = sc.check_volumes(rebuilt, shape, "reconstruct")
        features["reconstructed"] = sc.volume_features(evaluators, rebuilt, slices)
    spacing, device = test.spacing_mm, ctx.device
    measured = {
        "generated": sc.measure_volumes(evaluators, generated, spacing, device),
        "real": sc.measure_volumes(evaluators, test.images, spacing, device),
    }
    ssim = {"generated": sc.diversity(generated, halves), "real": sc.diversity(test.images, halves)}
    outputs = _outputs(ctx, test, measured, ssim, features, halves)
    metrics = {
        **sc.fid_metrics(
            features["real"], features["generated"], features.get("reconstructed"), halves
        ),
        # from the rounded outputs the record keeps: what the leaderboard recomputes
        **sc.output_metrics(outputs, len(test.images)),
    }
    return metrics, outputs


def _outputs(ctx, test, measured, ssim, features, halves) -> dict[str, Any]:
    from bench.tasks.cardiac_ldm.controllability import requested

    return {
        "test_ids": sample_ids(test),
        "halves": {"a": halves[0].tolist(), "b": halves[1].tolist()},
        **sc.per_sample(requested(test.attributes), measured["generated"], measured["real"]),
        "msssim_pairs": {k: sc.rounded(v) for k, v in ssim.items()},
        "fid_features": sc.write_features(ctx.artifacts_dir, features, halves),
    }


PROTOCOL = CardiacProtocol()
