"""Pictures and volumes a ``cardiac-ldm`` cell leaves beside its record.

In the cell's artifact folder (``.../eps=<e>/seed=<s>/``): ``samples.png`` (central
slices, real test volumes above the volumes generated for their attributes) and
``central_slices.npz``; with ``protocol.save_samples`` every generated volume as NIfTI plus the
attributes it was asked for. In the method's folder: ``samples_by_epsilon.png``, the
real row and one generated row per epsilon finished so far (rebuilt after each cell).
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path

import numpy as np

from bench.privacy.budget import parse_epsilon
from bench.tasks.base import CellContext

COLUMNS = 8  # volumes shown per row


def write_outputs(ctx: CellContext, test, generated: np.ndarray) -> None:
    """Write the cell's pictures (always) and NIfTI volumes (``save_samples``)."""
    folder = ctx.artifacts_dir
    folder.mkdir(parents=True, exist_ok=True)
    show = np.arange(min(COLUMNS, len(generated)))
    mid = generated.shape[1] // 2
    real, fake = test.images[show, mid], generated[show, mid]
    np.savez_compressed(folder / "central_slices.npz", real=real, generated=fake)
    _grid([("real", real), ("generated", fake)], folder / "samples.png")
    _grid_by_epsilon(folder.parent.parent, folder.name)
    if ctx.settings.save_samples:
        save_nifti(folder / "samples", generated, test.attributes, test.spacing_mm)


def save_nifti(folder: Path, volumes: np.ndarray, attributes: np.ndarray, spacing) -> None:
    """``sample_NNNN.nii.gz`` per volume ((D, H, W) stored as x = W, y = H, z = D, with
    the voxel size in the header) and ``attributes.json`` (the requested raw values)."""
    import nibabel as nib

    from bench.tasks.cardiac_ldm.api import ATTRIBUTES

    folder.mkdir(parents=True, exist_ok=True)
    affine = np.diag([spacing[2], spacing[1], spacing[0], 1.0])
    for i, volume in enumerate(volumes):
        image = nib.Nifti1Image(np.ascontiguousarray(volume.transpose(2, 1, 0)), affine)
        nib.save(image, folder / f"sample_{i:04d}.nii.gz")
    rows = [dict(zip(ATTRIBUTES, map(float, row), strict=True)) for row in attributes]
    (folder / "attributes.json").write_text(json.dumps(rows, indent=1) + "\n")


def _grid(rows: list[tuple[str, np.ndarray]], path: Path) -> None:
    """A PNG of image rows, each labelled, written atomically."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns = max(len(images) for _, images in rows)
    fig, axes = plt.subplots(len(rows), columns, figsize=(1.3 * columns, 1.4 * len(rows)),
                             squeeze=False)  # fmt: skip
    for r, (label, images) in enumerate(rows):
        for c in range(columns):
            ax = axes[r, c]
            ax.axis("off")
            if c < len(images):
                ax.imshow(images[c], cmap="gray", vmin=0, vmax=1)
        axes[r, 0].set_title(label, fontsize=8, loc="left")
    fig.tight_layout()
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".png")
    os.close(fd)
    fig.savefig(tmp, dpi=100)
    plt.close(fig)
    os.chmod(tmp, 0o644)  # mkstemp creates 0600; a picture is meant to be shared
    os.replace(tmp, path)


def _grid_by_epsilon(method_dir: Path, seed_name: str) -> None:
    """Rebuild the method's grid: real row, then one row per epsilon with this seed."""
    found = []
    for path in method_dir.glob(f"eps=*/{seed_name}/central_slices.npz"):
        epsilon = parse_epsilon(path.parent.parent.name.removeprefix("eps="))
        found.append((epsilon, np.load(path)))
    if not found:
        return
    found.sort(key=lambda item: item[0])
    rows = [("real (test)", found[0][1]["real"])]
    rows += [(f"eps={'inf' if math.isinf(e) else f'{e:g}'}", d["generated"]) for e, d in found]
    _grid(rows, method_dir / f"samples_by_epsilon_{seed_name}.png")
