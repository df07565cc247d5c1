"""Controllability of generated cardiac volumes: measure what was asked for (study A).

A segmentation network trained on public data labels each generated volume; from its
masks come the LV and RV volumes (mL) and the myocardial wall thickness (mm), compared
with the requested attributes by Pearson r (ED frames ask for LVEDV / RVEDV /
MYOEDTHICK, ES frames for LVESV / RVESV / MYOESTHICK); a phase classifier, also trained
on public data, checks the requested ES/ED phase ("cycle accuracy"). All arithmetic is
float64 numpy.

Example:
    >>> pearson([1, 2, 3, 4], [2, 4, 6, 8.5])
    0.99...
    >>> mask = np.zeros((1, 2, 20, 20), np.uint8); mask[0, :, 5:15, 5:15] = 2
    >>> mask[0, :, 7:13, 7:13] = 1
    >>> round(float(wall_thickness_mm(mask, (10.0, 1.0, 1.0))[0]), 2)  # 10 x 10 around 6 x 6
    2.26
"""

from __future__ import annotations

import numpy as np

from bench.datasets.phantoms.cardiac import ATTRIBUTES, LABELS, mask_volumes_ml

MISSING = -1.0


def pearson(x, y) -> float:
    """Pearson's r in float64; 0 when either side is constant (no linear relation can be
    controlled), NaN when fewer than 3 pairs remain."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    if len(x) < 3:
        return float("nan")
    dx, dy = x - x.mean(), y - y.mean()
    denom = np.sqrt(np.sum(dx * dx) * np.sum(dy * dy))
    return float(np.sum(dx * dy) / denom) if denom > 0 else 0.0


def wall_thickness_mm(masks: np.ndarray, spacing_mm) -> np.ndarray:
    """Myocardial thickness of each volume (n,): equivalent-circle radii of the epicardial
    (LV + myocardium) and endocardial (LV) areas, differenced slice by slice, median over
    the slices that have both; NaN where none has.
    """
    pixel_mm2 = float(spacing_mm[1] * spacing_mm[2])
    lv = (masks == LABELS["LV"]).sum(axis=(2, 3)) * pixel_mm2
    myo = (masks == LABELS["myocardium"]).sum(axis=(2, 3)) * pixel_mm2
    thickness = np.sqrt((lv + myo) / np.pi) - np.sqrt(lv / np.pi)
    valid = (lv > 0) & (myo > 0)
    out = np.full(len(masks), np.nan)
    for i in range(len(masks)):
        if valid[i].any():
            out[i] = np.median(thickness[i][valid[i]])
    return out


def measure(masks: np.ndarray, spacing_mm) -> dict[str, np.ndarray]:
    """LV and RV volumes (mL) and wall thickness (mm) of (n, D, H, W) label masks."""
    volumes = mask_volumes_ml(masks, tuple(spacing_mm))
    return {
        "lv_volume": volumes[:, 0],
        "rv_volume": volumes[:, 2],
        "myo_thickness": wall_thickness_mm(masks, spacing_mm),
    }


def requested(attributes: np.ndarray) -> dict[str, np.ndarray]:
    """The phase-matched targets of raw attributes (n, 14): NaN where missing."""
    col = {name: np.asarray(attributes[:, i], np.float64) for i, name in enumerate(ATTRIBUTES)}
    ed = col["ESED"] == 1
    pick = {
        "lv_volume": np.where(ed, col["LVEDV"], col["LVESV"]),
        "rv_volume": np.where(ed, col["RVEDV"], col["RVESV"]),
        "myo_thickness": np.where(ed, col["MYOEDTHICK"], col["MYOESTHICK"]),
    }
    phase_known = col["ESED"] != MISSING
    return {
        **{k: np.where((v == MISSING) | ~phase_known, np.nan, v) for k, v in pick.items()},
        "phase": np.where(phase_known, col["ESED"], np.nan),
    }


def controllability(
    measured: dict[str, np.ndarray], predicted_phase: np.ndarray, attributes: np.ndarray
) -> dict[str, float]:
    """``<quantity>_r`` for LV volume, RV volume and wall thickness, and ``cycle_accuracy``,
    of volumes generated for the raw ``attributes``: :func:`controllability_of` their
    :func:`requested` targets."""
    return controllability_of(requested(attributes), measured, predicted_phase)


def controllability_of(
    asked: dict[str, np.ndarray], measured: dict[str, np.ndarray], predicted_phase: np.ndarray
) -> dict[str, float]:
    """Controllability against phase-matched targets ``asked`` (NaN where missing).

    Pairs with a missing request or an unmeasurable volume (no myocardium found) are
    left out; a metric with fewer than 3 pairs is not reported. The leaderboard calls this
    on a record's per-volume outputs, the task on its fresh measurements.
    """
    out: dict[str, float] = {}
    for name in ("lv_volume", "rv_volume", "myo_thickness"):
        keep = np.isfinite(asked[name]) & np.isfinite(measured[name])
        r = pearson(measured[name][keep], asked[name][keep])
        if np.isfinite(r):
            out[f"{name}_r"] = r
    known = np.isfinite(asked["phase"])
    if known.any():
        out["cycle_accuracy"] = float(np.mean(predicted_phase[known] == asked["phase"][known]))
    return out
