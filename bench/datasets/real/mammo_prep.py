"""Shared preprocessing of mammograms into mass patches (version ``PREPROCESSING``).

As study B's ``MammographyDataset`` (mammo_dp, crop defaults ``margin=60``,
``min_size=128``): the whole image is min-max scaled to [0, 1] (the seed converts the
full image to 8 bits first), a square around the lesion's bounding box is cut with a
margin of 60 pixels on each side and a side of at least 128 pixels (zeros outside the
image), then resized to the task's size by area averaging (Gaussian anti-aliasing,
then linear interpolation).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

PREPROCESSING = "mammo-1"
MARGIN_PX = 60
MIN_SIDE_PX = 128


def unit_range(image: np.ndarray) -> np.ndarray:
    """Min-max scaling to [0, 1]; a constant image gives zeros.

    >>> unit_range(np.array([2.0, 4.0, 6.0])).tolist()
    [0.0, 0.5, 1.0]
    """
    low, high = float(image.min()), float(image.max())
    if not high > low:
        return np.zeros(image.shape, dtype=np.float32)
    return ((image - low) / (high - low)).astype(np.float32)


def mask_box(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    """Bounding box (row0, col0, row1, col1), ends exclusive, of the non-zero pixels.

    >>> m = np.zeros((5, 5)); m[1:3, 2:4] = 1
    >>> mask_box(m)
    (1, 2, 3, 4)
    """
    rows, cols = np.nonzero(mask)
    if len(rows) == 0:
        return None
    return int(rows.min()), int(cols.min()), int(rows.max()) + 1, int(cols.max()) + 1


def crop_square(image: np.ndarray, box, margin: int = MARGIN_PX, min_side: int = MIN_SIDE_PX):
    """A square around ``box`` with ``margin`` on each side, at least ``min_side`` wide.

    >>> crop_square(np.ones((300, 300)), (100, 100, 140, 120)).shape  # 40 + 2 * 60
    (160, 160)
    >>> float(crop_square(np.ones((50, 50)), (0, 0, 10, 10)).mean()) < 1  # zeros outside
    True
    """
    r0, c0, r1, c1 = box
    side = max(max(r1 - r0, c1 - c0) + 2 * margin, min_side)
    top = (r0 + r1) // 2 - side // 2
    left = (c0 + c1) // 2 - side // 2
    patch = np.zeros((side, side), dtype=np.float32)
    rows = slice(max(top, 0), min(top + side, image.shape[0]))
    cols = slice(max(left, 0), min(left + side, image.shape[1]))
    patch[rows.start - top : rows.stop - top, cols.start - left : cols.stop - left] = image[
        rows, cols
    ]
    return patch


def resize_square(patch: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Area-like resize of a 2D image to ``size`` (anti-aliased when shrinking).

    >>> resize_square(np.ones((256, 256)), (64, 64)).shape
    (64, 64)
    """
    step = np.array(patch.shape, float) / np.asarray(size, float)
    image = patch.astype(np.float32)
    if (step > 1).any():
        image = ndimage.gaussian_filter(image, np.maximum((step - 1) / 2, 0.0), mode="nearest")
    offset = (step - 1) / 2
    out = ndimage.affine_transform(
        image, step, offset=offset, output_shape=tuple(size), order=1, mode="nearest"
    )
    return out.clip(0.0, 1.0).astype(np.float32)


def mass_patch(image: np.ndarray, box, size: tuple[int, int]) -> np.ndarray:
    """The preprocessed patch of the lesion in ``box`` of a full mammogram."""
    return resize_square(crop_square(unit_range(image), box), size)
