"""Regenerate the phantom galleries in docs/img and compare phantom intensities with real MRI.

The comparison reads the real two-patient Sunnybrook subset (cine SSFP, see
``../shared/data/sunnybrook-subset/README.md``) when it is present and is skipped
otherwise; nothing from it is written into the repository except summary numbers.

Usage:
    python scripts/phantom_gallery.py [--out-dir docs/img] [--sunnybrook DIR] [--seed 0]
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.path import Path as Polygon
from scipy import ndimage

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.datasets.phantoms._texture import scale_unit
from bench.datasets.phantoms.cardiac import LABELS, make_cardiac
from bench.datasets.phantoms.mammo import make_mammo

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SUNNYBROOK = REPO.parent / "shared" / "data" / "sunnybrook-subset"
CROP_MM = 175.4  # the phantoms' field of view: 96 pixels of 1.8269 mm
STAT_COLUMNS = ("mean", "std", "p5", "p25", "p50", "p75", "p95", "blood", "myo", "myo/blood")


def intensity_stats(volume: np.ndarray, blood: np.ndarray, myo: np.ndarray | None) -> dict:
    """Statistics of one volume after the phantoms' scaling (minimum -> 0, 99.5th pct -> 1).

    Example:
        >>> vol = np.linspace(0.0, 1.0, 1000).reshape(10, 10, 10)
        >>> round(intensity_stats(vol, vol > 0.5, vol < 0.25)["myo/blood"], 3)
        0.166
    """
    unit = scale_unit(volume, 99.5).astype(np.float64)
    stats = {"mean": unit.mean(), "std": unit.std()}
    for q in (5, 25, 50, 75, 95):
        stats[f"p{q}"] = np.percentile(unit, q)
    stats["blood"] = unit[blood].mean()
    stats["myo"] = unit[myo].mean() if myo is not None and myo.any() else np.nan
    stats["myo/blood"] = stats["myo"] / stats["blood"]
    return {k: float(v) for k, v in stats.items()}


def phantom_stats(variant: str, n_subjects: int, seed: int) -> list[dict]:
    """Per-volume statistics of phantom ED and ES frames at paper shape."""
    data = make_cardiac(2 * n_subjects, variant, seed=seed)
    rows = []
    for image, mask in zip(data.images, data.masks, strict=True):
        rows.append(intensity_stats(image, mask == LABELS["LV"], mask == LABELS["myocardium"]))
    return rows


def _read_series(folder: Path) -> dict:
    """DICOM images of one patient as {image number: (slice location, trigger time, pixels)}."""
    import pydicom

    series = {}
    for path in folder.glob("*.dcm"):
        ds = pydicom.dcmread(path)
        key = (round(float(ds.SliceLocation), 2), float(ds.TriggerTime), int(ds.InstanceNumber))
        series[int(path.stem)] = (key, ds.pixel_array.astype(np.float64))
    return series


def _contours(folder: Path) -> dict:
    return {int(p.name.split("-")[2]): np.loadtxt(p) for p in sorted(folder.glob("*.txt"))}


def _polygon_mask(xy: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    rows, cols = np.mgrid[: shape[0], : shape[1]]
    points = np.column_stack([cols.ravel(), rows.ravel()])
    return Polygon(xy).contains_points(points).reshape(shape)


def _phase_volume(series: dict, phase_of: dict, phase: int) -> tuple[np.ndarray, list]:
    """Stack of all slice locations (ordered by location) at one cardiac phase."""
    numbers = sorted((k for k in series if phase_of[k] == phase), key=lambda k: series[k][0])
    return np.stack([series[k][1] for k in numbers]), numbers


def sunnybrook_stats(root: Path) -> list[dict]:
    """Per-volume statistics of the real ED and ES stacks, cropped to the phantoms' field of view.

    ED is the contoured phase with the larger endocardial areas; blood is inside the
    endocardial contours, myocardium between endo- and epicardial ones (ED only).
    """
    rows = []
    with open(root / "link.csv", newline="") as handle:
        patients = list(csv.DictReader(handle))
    for line in patients:
        series = _read_series(root / "dicoms" / line["patient_id"])
        endo = _contours(root / "contourfiles" / line["original_id"] / "i-contours")
        epi = _contours(root / "contourfiles" / line["original_id"] / "o-contours")
        phase_of = _phase_index(series)
        phases = sorted({phase_of[k] for k in endo}, key=lambda p: -_area(endo, phase_of, p))
        for name, phase in zip(("ED", "ES"), phases, strict=False):
            stats = _real_volume_stats(series, phase_of, phase, endo, epi, name == "ED")
            rows.append({"data": f"Sunnybrook {line['original_id']} {name}", **stats})
    return rows


def _phase_index(series: dict) -> dict:
    """Phase of every image: its rank by trigger time among the images of its slice location."""
    by_location: dict[float, list] = {}
    for number, (key, _) in series.items():
        by_location.setdefault(key[0], []).append((key[1], key[2], number))
    return {f[2]: i for frames in by_location.values() for i, f in enumerate(sorted(frames))}


def _area(contours: dict, phase_of: dict, phase: int) -> float:
    """Total shoelace area of the contours drawn at ``phase``."""
    total = 0.0
    for number, xy in contours.items():
        if phase_of[number] == phase:
            x, y = xy[:, 0], xy[:, 1]
            total += 0.5 * abs(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1)))
    return total


def _real_volume_stats(series, phase_of, phase, endo, epi, with_myo: bool) -> dict:
    """Crop every slice to the phantoms' field of view around the LV, then ``intensity_stats``."""
    volume, numbers = _phase_volume(series, phase_of, phase)
    blood, myo = np.zeros(volume.shape, bool), np.zeros(volume.shape, bool)
    centres = []
    for z, number in enumerate(numbers):
        if number in endo:
            blood[z] = _polygon_mask(endo[number], volume.shape[1:])
            centres.append(endo[number].mean(axis=0))
        if number in epi:
            myo[z] = _polygon_mask(epi[number], volume.shape[1:]) & ~blood[z]
    col, row = np.round(np.mean(centres, axis=0)).astype(int)
    half = round(CROP_MM / 1.367188 / 2)
    crop = (slice(None), slice(row - half, row + half), slice(col - half, col + half))
    return intensity_stats(volume[crop], blood[crop], myo[crop] if with_myo else None)


def phantom_rows(n_subjects: int, seed: int) -> list[dict]:
    """Mean statistics of phantom ED and ES volumes per variant (paper shape)."""
    rows = []
    for variant in ("private", "public"):
        stats = phantom_stats(variant, n_subjects, seed)
        for name, chosen in (("ED", stats[0::2]), ("ES", stats[1::2])):
            mean = {k: float(np.nanmean([s[k] for s in chosen])) for k in STAT_COLUMNS}
            rows.append({"data": f"phantom {variant} {name} (mean of {len(chosen)})", **mean})
    return rows


def markdown_table(rows: list[dict]) -> str:
    """Rows of statistics as a Markdown table (NaN shown as a dash)."""
    lines = ["| data | " + " | ".join(STAT_COLUMNS) + " |", "|---" * (len(STAT_COLUMNS) + 1) + "|"]
    for row in rows:
        cells = ["-" if np.isnan(row[k]) else f"{row[k]:.3f}" for k in STAT_COLUMNS]
        lines.append(f"| {row['data']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _central_slice(mask: np.ndarray) -> int:
    """Middle of the slices that contain heart."""
    slices = np.flatnonzero(mask.any(axis=(1, 2)))
    return int(slices[len(slices) // 2])


def save_cardiac_gallery(path: Path, seed: int) -> None:
    """Central ED/ES slices of four subjects per variant, then one full private ED stack."""
    data = {v: make_cardiac(8, v, seed=seed) for v in ("private", "public")}
    fig = plt.figure(figsize=(16, 7.8))
    outer = fig.add_gridspec(2, 1, height_ratios=[4.6, 2.8], hspace=0.08)
    top, bottom = outer[0].subgridspec(2, 8), outer[1].subgridspec(2, 13, hspace=0.25)
    for row, (variant, batch) in enumerate(data.items()):
        for i in range(8):
            ax = fig.add_subplot(top[row, i])
            phase, lv = (
                ("ED", batch.attributes[i, 0]) if i % 2 == 0 else ("ES", batch.attributes[i, 1])
            )
            ax.imshow(batch.images[i, _central_slice(batch.masks[i])], cmap="gray", vmin=0, vmax=1)
            ax.set_title(f"{variant} subject {i // 2} {phase}\nLV {lv:.0f} mL", fontsize=8)
            ax.axis("off")
    stack = data["private"]
    for z in range(stack.images.shape[1]):
        for row in (0, 1):
            ax = fig.add_subplot(bottom[row, z])
            ax.imshow(stack.images[0, z], cmap="gray", vmin=0, vmax=1)
            if row:
                levels, colours = [0.5, 1.5, 2.5], ["r", "y", "c"]
                ax.contour(stack.masks[0, z], levels=levels, colors=colours, linewidths=0.6)
            ax.set_title(f"slice {z}", fontsize=7)
            ax.axis("off")
    fig.suptitle(
        "Cardiac phantoms: central slices of ED/ES pairs (top), "
        "private subject 0 ED stack, base to apex, with label contours (bottom)"
    )
    fig.savefig(path, dpi=64, bbox_inches="tight")
    plt.close(fig)


def save_mammo_gallery(path: Path, seed: int) -> None:
    """Six benign and six malignant 128 x 128 patches for each variant."""
    fig, axes = plt.subplots(6, 6, figsize=(9, 9.6))
    for v, variant in enumerate(("private", "public", "external")):
        data = make_mammo(32, variant, size=128, seed=seed)
        for label in (0, 1):
            chosen = np.flatnonzero(data.labels == label)[:6]
            for c, index in enumerate(chosen):
                ax = axes[2 * v + label, c]
                ax.imshow(data.images[index], cmap="gray", vmin=0, vmax=1)
                ax.set_xticks([])
                ax.set_yticks([])
            name = "malignant" if label else "benign"
            axes[2 * v + label, 0].set_ylabel(f"{variant}\n{name}", fontsize=9)
    fig.suptitle("Mammography phantoms: benign (round/oval, circumscribed) vs malignant rows")
    fig.tight_layout()
    fig.savefig(path, dpi=64)
    plt.close(fig)


def mass_features(image: np.ndarray) -> list[float]:
    """Hand-crafted features: mass contrast, spiculation, ridges, margin sharpness, texture."""
    size = image.shape[0]
    rows, cols = np.indices(image.shape) - (size - 1) / 2
    radius = np.hypot(rows, cols) + 1e-6
    smooth = ndimage.gaussian_filter(image, 0.7)
    g_row, g_col = ndimage.sobel(smooth, 0), ndimage.sobel(smooth, 1)
    radial = (g_col * cols + g_row * rows) / radius
    tangential = (g_row * cols - g_col * rows) / radius
    ring = (radius > 0.25 * size / 2) & (radius < 0.9 * size / 2)
    core = image[radius < 0.15 * size / 2].mean() - image[radius > 0.6 * size / 2].mean()
    spiculation = (tangential[ring] ** 2).mean() / ((radial[ring] ** 2).mean() + 1e-9)
    ridges = np.clip(-ndimage.gaussian_laplace(image, 1.0), 0, None)[ring].mean()
    steps = np.arange(0.0, 1.0, 0.1) * size / 2
    profile = [image[(radius >= r) & (radius < r + 0.1 * size / 2)].mean() for r in steps]
    sharpness = np.max(-np.diff(profile)) / (abs(core) + 1e-3)
    return [core, spiculation, ridges, sharpness, image.std(), np.hypot(g_row, g_col)[ring].mean()]


def mammo_baselines(n: int, seed: int) -> dict[str, float]:
    """5-fold cross-validated AUROC (malignant positive) of two simple baselines per variant."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    results = {}
    for variant in ("private", "public", "external"):
        data = make_mammo(n, variant, size=64, seed=seed)
        inputs = {
            "features": np.array([mass_features(image) for image in data.images]),
            "pixels16": data.images.reshape(n, 16, 4, 16, 4).mean(axis=(2, 4)).reshape(n, -1),
        }
        for name, x in inputs.items():
            c = 1.0 if name == "features" else 0.01
            model = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=3000))
            p = cross_val_predict(model, x, data.labels, cv=5, method="predict_proba")[:, 1]
            results[f"{variant} {name}"] = float(roc_auc_score(data.labels, p))
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", type=Path, default=REPO / "docs" / "img")
    parser.add_argument("--sunnybrook", type=Path, default=DEFAULT_SUNNYBROOK)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--subjects", type=int, default=10, help="phantom subjects per variant")
    parser.add_argument("--baseline-n", type=int, default=2000, help="0 skips the baselines")
    args = parser.parse_args(argv)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    save_cardiac_gallery(args.out_dir / "phantoms_cardiac.png", args.seed)
    save_mammo_gallery(args.out_dir / "phantoms_mammo.png", args.seed)
    print(f"wrote {args.out_dir / 'phantoms_cardiac.png'} and phantoms_mammo.png")
    rows = phantom_rows(args.subjects, args.seed)
    if (args.sunnybrook / "link.csv").is_file():
        rows = sunnybrook_stats(args.sunnybrook) + rows
    else:
        print(f"no Sunnybrook subset at {args.sunnybrook}: phantom statistics only")
    print(markdown_table(rows))
    if args.baseline_n:
        for name, auroc in mammo_baselines(args.baseline_n, args.seed).items():
            print(f"mammo baseline AUROC {name}: {auroc:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
