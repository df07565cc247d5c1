"""Planar polygons of expert contours: their area and their pixel masks (numpy only).

Contour points are ``(x, y)`` pixel coordinates, x along columns and y along rows, with
pixel centres at integer coordinates (Sunnybrook's manual contours follow pixel edges
at half-integer positions, so a pixel is inside exactly when its centre is).
"""

from __future__ import annotations

import numpy as np


def polygon_area(points: np.ndarray) -> float:
    """Area (pixels^2) enclosed by a closed polygon, by the shoelace formula.

    >>> polygon_area(np.array([[0, 0], [4, 0], [4, 3], [0, 3]]))
    12.0
    """
    x, y = np.asarray(points, dtype=float).T
    return float(0.5 * abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))


def polygon_mask(points: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Boolean (rows, cols) mask of the pixels whose centre lies inside the polygon.

    Even-odd rule, evaluated only inside the polygon's bounding box.

    >>> square = np.array([[0.5, 0.5], [3.5, 0.5], [3.5, 2.5], [0.5, 2.5]])
    >>> polygon_mask(square, (4, 5)).astype(int)
    array([[0, 0, 0, 0, 0],
           [0, 1, 1, 1, 0],
           [0, 1, 1, 1, 0],
           [0, 0, 0, 0, 0]])
    """
    mask = np.zeros(shape, dtype=bool)
    x, y = np.asarray(points, dtype=float).T
    r0, r1 = max(0, int(np.floor(y.min()))), min(shape[0] - 1, int(np.ceil(y.max())))
    c0, c1 = max(0, int(np.floor(x.min()))), min(shape[1] - 1, int(np.ceil(x.max())))
    if r1 < r0 or c1 < c0:
        return mask
    rows, cols = np.mgrid[r0 : r1 + 1, c0 : c1 + 1].astype(float)
    inside = np.zeros(rows.shape, dtype=bool)
    with np.errstate(divide="ignore", invalid="ignore"):
        for xa, ya, xb, yb in zip(x, y, np.roll(x, -1), np.roll(y, -1), strict=True):
            crosses = (ya > rows) != (yb > rows)
            x_cross = xa + (rows - ya) * (xb - xa) / (yb - ya)
            inside ^= crosses & (cols < x_cross)
    mask[r0 : r1 + 1, c0 : c1 + 1] = inside
    return mask
