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
        """The risk of the last DP run (the classifier), earlier runs under ``runs``; an
        unprotected access (study B's published synthetic set) is named as unbounded."""
        runs = ledger.runs
        unbounded = _unbounded(ledger)
        if not runs:
            risk = dict(NO_RISK)
        else:
            *earlier, last = runs
            risk = risk_of(ctx.settings, last)
            if earlier:
                risk["runs"] = [{"name": r["name"], **risk_of(ctx.settings, r)} for r in earlier]
        if unbounded:
            risk["unbounded"] = {
                "steps": unbounded,
                "note": "read private data without DP: no bound covers them; the bounds above "
                "cover the DP runs only",
            }
        return risk

    def input_canaries(self, ctx: CellContext, prepared: Prepared, m: int, seed: int):
        """Black-box input canaries (:mod:`bench.audit.inputs`): up to m patches of the
        public split (the adversary knows them) with their labels flipped; the score is the
        margin of the classifier's P(malignant) towards the canary's label. A canary's image
        is public whatever its coin, so only its flipped label tells in from out."""
        from bench.audit.inputs import InputCanaries, label_margin

        public = prepared.held.public
        pick = np.random.default_rng([seed, 2]).permutation(len(public))[:m]
        images = np.array(public.images[pick])
        labels = (1 - np.asarray(public.labels[pick])).astype(np.int64)

        def score(artifact) -> np.ndarray:
            if not isinstance(artifact, MammoArtifact):
                raise BenchError(f"method {ctx.cell.method!r} returned no MammoArtifact")
            return label_margin(_scores(ctx, artifact.classifier, Split(images, labels)), labels)

        return InputCanaries(prepared.view.train, (images, labels), score)


def _unbounded(ledger) -> list[str]:
    """Private-data steps other than the DP runs and the evaluation that had no protection."""
    from bench.privacy.ledger import EVALUATION

    runs = {run["name"] for run in ledger.runs}
    return [
        step["name"]
        for step in ledger.privacy_block()["private_data_steps"]
        if step["name"] not in runs | {EVALUATION} and step["protection"].startswith("none")
    ]


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


def recompute_metrics(record: dict[str, Any]) -> dict[str, float]:
    """A record's classification metrics recomputed from its per-patch ``outputs``.

    A pure function (the leaderboard's evidence check): AUROC, AUPRC and accuracy from the
    recorded labels and scores of each test set, and the AUROC's bootstrap CI with the
    resamples of the record's ``protocol`` and the seed its cell derives (so a record
    relabelled to another seed does not reproduce its own CI). Raises :class:`ValueError`
    where the outputs cannot be those of the record's cell: a test set whose size or
    count of malignant patches is not the record's dataset's. FID needs the patches
    themselves, so it is the re-run's to check (``bench leaderboard verify``).
    """
    from bench.metrics.classification import accuracy, auprc, auroc

    dataset, protocol = record["dataset"], record["protocol"]
    metrics: dict[str, float] = {}
    for name, split in (("internal", "test"), ("external", "external")):
        if name not in record["outputs"]:
            continue
        out = record["outputs"][name]
        labels = np.array(out["label"], dtype=np.int64)
        scores = np.array(out["score"], dtype=np.float64)
        expected = (dataset["samples"][split], dataset["malignant"][split])
        if (len(labels), int(labels.sum())) != expected or list(out["id"]) != list(
            range(len(labels))
        ):
            raise ValueError(
                f"outputs of the {name} test set hold {len(labels)} patches "
                f"({int(labels.sum())} malignant); the dataset's {split} split has "
                f"{expected[0]} ({expected[1]} malignant)"
            )
        seed = _cell_seed(record["seed"], "bootstrap", name)
        low, high = bootstrap_auroc(labels, scores, protocol["bootstrap"], seed)
        metrics |= {
            f"auroc_{name}": auroc(labels, scores),
            f"auroc_{name}_ci_low": low,
            f"auroc_{name}_ci_high": high,
            f"auprc_{name}": auprc(labels, scores),
            f"accuracy_{name}": accuracy(labels, scores),
        }
    return metrics


def bootstrap_auroc(labels: np.ndarray, scores: np.ndarray, resamples: int, seed: int):
    """:func:`bench.metrics.classification.bootstrap_ci` of AUROC: the same resamples drawn
    in the same order, their AUROCs computed at once (a board recomputes thousands).

    A resample's Mann-Whitney count is ``c_pos @ W @ c_neg`` with ``c`` how often each
    patch was drawn and ``W[i, j] = [s_i > s_j] + [s_i = s_j] / 2``: the same half-integer,
    exact in float64, as the rank sum of :func:`~bench.metrics.classification.auroc`.

    >>> from bench.metrics.classification import auroc, bootstrap_ci
    >>> y = np.array([0, 1] * 20); s = np.round(np.linspace(0, 1, 40) ** 2, 1)
    >>> bootstrap_auroc(y, s, 50, 3) == bootstrap_ci(auroc, y, s, resamples=50, seed=3)
    True
    """
    y = labels.astype(bool)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    draws_pos, draws_neg = _resample_draws(n_pos, n_neg, resamples, seed)
    counts_pos, counts_neg = _counts(draws_pos, n_pos), _counts(draws_neg, n_neg)
    s_pos, s_neg = scores[y][:, None], scores[~y][None, :]
    wins = (s_pos > s_neg) + 0.5 * (s_pos == s_neg)
    values = np.sum((counts_pos @ wins) * counts_neg, axis=1) / (n_pos * n_neg)
    alpha = (1 - 0.95) / 2  # as bootstrap_ci computes it: the quantiles must be the same
    low, high = np.quantile(values, [alpha, 1 - alpha])
    return float(low), float(high)


def _resample_draws(n_pos: int, n_neg: int, resamples: int, seed: int):
    """The indices ``bootstrap_ci`` draws: per resample ``rng.choice(pos, n_pos)`` then
    ``rng.choice(neg, n_neg)``, i.e. ``rng.integers(0, n, n)`` each.

    numpy maps each 32-bit output of the generator to [0, n) by Lemire's multiply-shift
    and redraws only in the rare case of a rejection; the draws are computed at once from
    the raw stream, and the per-call loop is kept for a stream that holds a rejection.
    """
    rng = np.random.default_rng(seed)
    bounds = np.tile(np.r_[np.full(n_pos, n_pos), np.full(n_neg, n_neg)], resamples)
    bounds = bounds.astype(np.uint64)
    words = rng.bit_generator.random_raw((len(bounds) + 1) // 2)
    stream = np.empty(2 * len(words), dtype=np.uint64)
    stream[0::2], stream[1::2] = words & 0xFFFFFFFF, words >> np.uint64(32)
    product = stream[: len(bounds)] * bounds
    leftover = product & np.uint64(0xFFFFFFFF)
    threshold = (np.uint64(2**32) - bounds) % bounds
    if np.any(leftover < threshold) or n_pos == 0 or n_neg == 0:
        return _resample_draws_loop(n_pos, n_neg, resamples, seed)
    draws = (product >> np.uint64(32)).astype(np.int64).reshape(resamples, n_pos + n_neg)
    return draws[:, :n_pos], draws[:, n_pos:]


def _resample_draws_loop(n_pos: int, n_neg: int, resamples: int, seed: int):
    rng = np.random.default_rng(seed)
    draws_pos = np.empty((resamples, n_pos), dtype=np.int64)
    draws_neg = np.empty((resamples, n_neg), dtype=np.int64)
    for b in range(resamples):
        draws_pos[b] = rng.integers(0, n_pos, n_pos)
        draws_neg[b] = rng.integers(0, n_neg, n_neg)
    return draws_pos, draws_neg


def _counts(draws: np.ndarray, size: int) -> np.ndarray:
    """How often each of ``size`` items was drawn, per row of ``draws`` (float64)."""
    rows = np.arange(len(draws))[:, None] * size
    flat = np.bincount((rows + draws).ravel(), minlength=len(draws) * size)
    return flat.reshape(len(draws), size).astype(np.float64)


def _cell_seed(seed: int, *labels: object) -> int:
    """:meth:`bench.tasks.base.MethodContext.derive_seed` of a record's cell seed."""
    import hashlib

    text = "/".join(str(x) for x in (seed, *labels))
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "little")
