"""Scoring of a ``cardiac-ldm`` artifact: FID, diversity, controllability, and their outputs.

One volume is generated per test volume, conditioned on that volume's attributes. The
test set is split in halves by subject (A, B), as in study A; to give the real-vs-real
floor the same sample sizes and independence, the generated halves are compared
crosswise, FID = (FID(gen_A, real_B) + FID(gen_B, real_A)) / 2 against the floor
FID(real_A, real_B). Diversity pairs volume i of A with volume i of B (different
subjects), for generated and real volumes alike. Every number comes from per-sample
outputs the record keeps (measured and requested quantities, MS-SSIM per pair) or from
the FID feature file beside the record (named with its SHA-256 in the outputs).
"""

from __future__ import annotations

import hashlib
import math
from typing import Any

import numpy as np

from bench.errors import BenchError

FEATURES_FILE = "fid_features.npz"
DIGITS = 7  # significant digits of the per-sample outputs in the record


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


def crosswise_fid(real: np.ndarray, fake: np.ndarray, halves) -> float:
    """(FID(fake_A, real_B) + FID(fake_B, real_A)) / 2 of per-volume features
    (n, ..., dim): a volume's slices stay together."""
    from bench.metrics.fid import fid

    a, b = halves
    dim = real.shape[-1]
    return 0.5 * (
        fid(fake[a].reshape(-1, dim), real[b].reshape(-1, dim))
        + fid(fake[b].reshape(-1, dim), real[a].reshape(-1, dim))
    )


def floor_fid(real: np.ndarray, halves) -> float:
    """FID(real_A, real_B): what a perfect generator would score."""
    from bench.metrics.fid import fid

    a, b = halves
    dim = real.shape[-1]
    return fid(real[a].reshape(-1, dim), real[b].reshape(-1, dim))


def volume_features(evaluators, volumes: np.ndarray, slices: int) -> dict[str, np.ndarray]:
    """Per-volume FID features: ``slice`` (n, slices, dim), ``volume`` (n, dim), and
    ``inception`` (n, slices, dim) when the evaluators have InceptionV3."""
    from bench.tasks.cardiac_ldm.volume_encoder import central_slices

    def per_slice(extractor):
        features = extractor.features(central_slices(volumes, slices))
        return features.reshape(len(volumes), -1, features.shape[-1])

    out = {
        "slice": per_slice(evaluators.slice_extractor),
        "volume": evaluators.volume_extractor.features(volumes),
    }
    if evaluators.inception is not None:
        out["inception"] = per_slice(evaluators.inception)
    return out


def fid_metrics(real: dict, generated: dict, reconstructed: dict | None, halves) -> dict:
    """Slice-wise (offline encoder, Inception if given) and 3D FIDs, with their floors."""
    out = {
        "fid": crosswise_fid(real["slice"], generated["slice"], halves),
        "fid_floor": floor_fid(real["slice"], halves),
        "fid_3d": crosswise_fid(real["volume"], generated["volume"], halves),
        "fid_3d_floor": floor_fid(real["volume"], halves),
    }
    if reconstructed is not None:
        out["fid_reconstruction"] = crosswise_fid(real["slice"], reconstructed["slice"], halves)
    if "inception" in real:
        out["fid_inception"] = crosswise_fid(real["inception"], generated["inception"], halves)
        out["fid_inception_floor"] = floor_fid(real["inception"], halves)
    return out


def measure_volumes(evaluators, volumes: np.ndarray, spacing, device: str) -> dict:
    """LV/RV volume, wall thickness and predicted phase of each volume (float64 (n,))."""
    from bench.tasks.cardiac_ldm.controllability import measure
    from bench.tasks.cardiac_ldm.segmentation import segment

    masks = segment(evaluators.segmenter, volumes, device)
    return {**measure(masks, spacing), "phase": evaluators.phase.predict(masks, spacing)}


def generate_checked(artifact, attributes: np.ndarray, seed: int, shape) -> np.ndarray:
    """The artifact's volumes for ``attributes``, checked: (n, D, H, W), finite, float32."""
    volumes = np.asarray(artifact.generate(np.array(attributes, copy=True), seed), np.float32)
    return check_volumes(volumes, (len(attributes), *shape), "generate")


def check_volumes(volumes: np.ndarray, shape: tuple, what: str) -> np.ndarray:
    if volumes.shape != tuple(shape):
        raise BenchError(f"the artifact's {what} returned shape {volumes.shape}, not {shape}")
    if not np.isfinite(volumes).all():
        raise BenchError(f"the artifact's {what} returned non-finite voxels")
    return volumes


def diversity(volumes: np.ndarray, halves) -> np.ndarray:
    """MS-SSIM of volume i of half A with volume i of half B, both ways (2 * |A|,)."""
    from bench.metrics.msssim import ms_ssim_volumes

    used = np.concatenate(halves)
    size = len(halves[0])
    partners = np.concatenate([np.arange(size) + size, np.arange(size)])
    return ms_ssim_volumes(volumes[used], volumes[used][partners])


def write_features(folder, features: dict[str, dict], halves) -> dict[str, str]:
    """The FID features as ``fid_features.npz`` beside the record; its name and SHA-256."""
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {f"{who}_{kind}": v for who, sets in features.items() for kind, v in sets.items()}
    path = folder / FEATURES_FILE
    np.savez_compressed(path, half_a=halves[0], half_b=halves[1], **arrays)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return {"file": FEATURES_FILE, "sha256": digest, "arrays": sorted(arrays)}


def rounded(values, digits: int = DIGITS) -> list:
    """Strict-JSON list: floats to ``digits`` significant digits, NaN/inf as None.

    >>> rounded([1.23456789, float("nan"), 2.0])
    [1.234568, None, 2.0]
    """
    return [float(f"{v:.{digits}g}") if math.isfinite(v) else None for v in map(float, values)]


def per_sample(asked: dict, generated: dict, real: dict) -> dict[str, Any]:
    """Requested and measured quantities per test volume (what controllability uses)."""
    names = ("lv_volume", "rv_volume", "myo_thickness", "phase")
    return {
        "requested": {k: rounded(asked[k]) for k in names},
        "measured_generated": {k: rounded(generated[k]) for k in names},
        "measured_real": {k: rounded(real[k]) for k in names},
    }


QUANTITIES = ("lv_volume", "rv_volume", "myo_thickness", "phase")


def recompute_metrics(record: dict[str, Any]) -> dict[str, float]:
    """A record's controllability and diversity metrics recomputed from its ``outputs``.

    A pure function (the leaderboard's evidence check): the Pearson r and cycle accuracy
    from the requested and measured quantities of every test volume, and the MS-SSIM
    means from the per-pair values. Raises :class:`ValueError` where the outputs cannot be
    those of the record's cell (a count that is not its test set's, halves that overlap
    or leave its range). FID and its floors need the feature file beside the record, which
    a submission does not carry: they are the re-run's to check (``bench leaderboard
    verify``).
    """
    return output_metrics(record["outputs"], int(record["dataset"]["test_volumes"]))


def output_metrics(out: dict[str, Any], n: int) -> dict[str, float]:
    """Controllability and diversity metrics of per-volume outputs for ``n`` test volumes.

    The task computes the recorded metrics with this very function from the rounded
    outputs it writes, so the leaderboard's recomputation is exact, not approximate.
    """
    from bench.tasks.cardiac_ldm.controllability import controllability_of

    if len(out["test_ids"]) != n:
        raise ValueError(f"outputs name {len(out['test_ids'])} test volumes, not {n}")
    a, b = (np.asarray(out["halves"][h], np.int64) for h in ("a", "b"))
    if len(a) != len(b) or len(set(a) | set(b)) != 2 * len(a) or not _within(a, b, n):
        raise ValueError(f"the halves are not two disjoint equal halves of {n} test volumes")
    asked = _quantities(out["requested"], n, "requested")
    metrics: dict[str, float] = {}
    for who, suffix in (("generated", ""), ("real", "_real")):
        measured = _quantities(out[f"measured_{who}"], n, f"measured_{who}")
        found = controllability_of(asked, measured, measured["phase"])
        metrics |= {k + suffix: v for k, v in found.items()}
        pairs = _floats(out["msssim_pairs"][who])
        if len(pairs) != 2 * len(a):
            raise ValueError(f"{len(pairs)} MS-SSIM pairs of {who} volumes, not {2 * len(a)}")
        metrics[f"msssim_{who}"] = float(pairs.mean())
    return metrics


def _quantities(values: dict, n: int, what: str) -> dict[str, np.ndarray]:
    arrays = {k: _floats(values[k]) for k in QUANTITIES}
    if any(len(v) != n for v in arrays.values()):
        raise ValueError(f"{what} outputs do not hold one value per test volume ({n})")
    return arrays


def _floats(values) -> np.ndarray:
    """A strict-JSON list (None for NaN) as float64."""
    return np.array([np.nan if v is None else float(v) for v in values], np.float64)


def _within(a: np.ndarray, b: np.ndarray, n: int) -> bool:
    both = np.concatenate([a, b])
    return bool(both.size == 0 or (both.min() >= 0 and both.max() < n))
