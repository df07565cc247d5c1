"""The protocol of ``mammo-cls``: what a method sees, how its artifact is scored, the risk.

- :meth:`MammoProtocol.prepare` loads the splits, puts the private training split behind
  the ledger and hands the method a :class:`~bench.tasks.mammo_cls.api.MammoView`: no test
  patch, no test label.
- :meth:`MammoProtocol.score` asks the artifact's classifier for P(malignant) of every
  patch of the internal test split and of the external site (records the evaluation
  access in the ledger), and computes AUROC with its bootstrap 95% CI, AUPRC and
  accuracy from the scores *as recorded* (7 significant digits), so that the record's
  outputs reproduce its metrics; a synthetic set is scored by FID against the internal
  test split and the public split, beside a real-vs-real floor.
- :meth:`MammoProtocol.risk` states the reconstruction risk of every DP run of the
  ledger, in the units of ``recon-attack``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bench.errors import BenchError
from bench.tasks.base import CellContext, Prepared, Scored
from bench.tasks.mammo_cls.api import POSITIVE_CLASS, MammoArtifact, MammoView, Split
from bench.tasks.mammo_cls.data import MammoData, load_data

TARGET_NORM = 1.01  # recon-attack's convention: ||X|| just above C = 1, so clipping acts
NO_RISK = {"private_data_touched": False, "note": "no model was trained on private data"}
DIGITS = 7  # significant digits of the recorded scores


class MammoProtocol:
    """The three steps ``mammo-cls`` owns in every cell."""

    def prepare(self, ctx: CellContext, ledger) -> Prepared:
        data = load_data(ctx)
        train = ledger.hold(
            "private training split", np.array(data.train.images), np.array(data.train.labels)
        )
        view = MammoView(
            public=data.public,
            train=train,
            image_size=ctx.settings.image_size,
            public_name=data.public_name,
            train_digest=data.train.digest(),
        )
        return Prepared(view=view, held=data, dataset=data.identity())

    def score(self, ctx: CellContext, prepared: Prepared, artifact, ledger) -> Scored:
        from bench.metrics.classification import classification_metrics

        if not isinstance(artifact, MammoArtifact):
            raise BenchError(
                f"method {ctx.cell.method!r} returned {type(artifact).__name__}; a mammo-cls "
                "method returns bench.tasks.mammo_cls.api.MammoArtifact"
            )
        data: MammoData = prepared.held
        splits = {"internal": data.test, "external": data.external}
        splits = {name: split for name, split in splits.items() if split is not None}
        ledger.record_evaluation(
            "internal test split (classifier scores; FID of a synthetic set)"
            + (" and external test site" if "external" in splits else "")
        )
        metrics, outputs = {}, {}
        for name, split in splits.items():
            scores = _scores(ctx, artifact.classifier, split)
            seed = ctx.derive_seed("bootstrap", name)
            metrics |= classification_metrics(
                split.labels, scores, name, resamples=ctx.settings.bootstrap, seed=seed
            )
            outputs[name] = {
                "id": list(range(len(split))),
                "label": [int(v) for v in split.labels],
                "score": [float(v) for v in scores],
            }
        details: dict[str, Any] = {"positive_class": POSITIVE_CLASS, "method": artifact.info}
        details["outputs"] = "per test patch: index in its split, label, P(malignant)"
        if artifact.synthetic is not None:
            fids, extractor = synthetic_metrics(ctx, artifact.synthetic, data)
            metrics |= fids
            details["synthetic"] = {"count": len(artifact.synthetic)}
            details["fid_extractor"] = extractor
        return Scored(metrics, outputs, details)

    def risk(self, ctx: CellContext, ledger) -> dict[str, Any]:
        """The risk of the last DP run (the classifier), earlier runs under ``runs``."""
        runs = ledger.runs
        if not runs:
            return dict(NO_RISK)
        *earlier, last = runs
        risk = risk_of(ctx.settings, last)
        if earlier:
            risk["runs"] = [{"name": run["name"], **risk_of(ctx.settings, run)} for run in earlier]
        return risk


def _scores(ctx: CellContext, classifier, split: Split) -> np.ndarray:
    """P(malignant) of every patch, checked, rounded as recorded."""
    scores = np.asarray(classifier.scores(np.array(split.images)), dtype=np.float64)
    if scores.shape != (len(split),) or not np.all(np.isfinite(scores)):
        raise BenchError(
            f"method {ctx.cell.method!r}: scores() must return {len(split)} finite "
            f"probabilities, got shape {scores.shape}"
        )
    if scores.min() < 0 or scores.max() > 1:
        raise BenchError(f"method {ctx.cell.method!r}: scores() must be P(malignant) in [0, 1]")
    return np.array([float(f"{v:.{DIGITS}g}") for v in scores])


def risk_of(settings, run: dict) -> dict:
    """Reconstruction risk of one DP run ``{noise_multiplier, sample_rate, steps}``.

    The target is one training patch (N = image_size^2 pixels) rescaled to
    ||X|| = 1.01 > C; success is NMSE <= ``nmse_threshold``; the identification
    adversary has ``prior_size`` candidates. The prior-free adversary controls the model,
    so the bound does not depend on the architecture that was actually trained.
    """
    from bench.privacy.risk import run_risk

    dim = settings.image_size**2
    return run_risk(
        run,
        dim=dim,
        norm=TARGET_NORM,
        mse_threshold=settings.nmse_threshold * TARGET_NORM**2 / dim,
        kappa=1 / settings.prior_size,
    )


def synthetic_metrics(ctx: CellContext, synthetic: Split, data: MammoData) -> tuple[dict, dict]:
    """FID of synthetic vs internal-test and vs public patches, a real-vs-real floor, counts.

    Returns the metrics and the extractor's identity for the record.
    """
    from bench.metrics.extractors import load_extractor
    from bench.metrics.fid import fid

    settings = ctx.settings
    extractor = load_extractor(settings.fid_extractor, settings.fid_weights)
    syn, test, public = (
        features(extractor, split, ctx.device) for split in (synthetic, data.test, data.public)
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


def features(extractor, split: Split, device: str) -> np.ndarray:
    """Features of a fixed split, computed once per process."""
    return extractor.features_once(split.images, split.digest(), device)


PROTOCOL = MammoProtocol()
