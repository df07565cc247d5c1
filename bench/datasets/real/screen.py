"""Checks every loader gets for free: confinement to the root, duplicates, sane samples.

The driver (:mod:`bench.datasets.loading`) runs them on every index and every sample,
whatever the loader (a plug-in dataset's too), so that a bad input is a named problem
and never a crash later in a task (a NaN image reaching an eigen-decomposition):

- :func:`screen_index`: an item with a file outside ``--data-root`` is dropped before
  anything is opened; an item listed twice (same key) is kept once; an index that
  found nothing says what it looked for.
- :func:`sample_problems`: a preprocessed sample has the asked shape, finite values in
  [0, 1], masks of known classes, 14 finite attributes (ESED 0 or 1, SEX 0, 1 or -1),
  a label 0 or 1.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bench.datasets.real import paths
from bench.datasets.real.base import Index, Item
from bench.datasets.types import ATTRIBUTES, MISSING, Problem

_CATEGORIES = {"ESED": (0.0, 1.0), "SEX": (0.0, 1.0, MISSING)}


def screen_index(index: Index, root: Path, follow_links: bool, layout: str) -> Index:
    """``index`` without items that leave the root or repeat another; see the module doc."""
    items, seen = [], set()
    for item in index.items:
        escaped = [f for f in item.files if paths.escape(root, f, follow_links)]
        if escaped:
            why = paths.escape(root, escaped[0], follow_links)
            index.problems.append(Problem(str(escaped[0]), f"{why} ({item.subject} skipped)"))
        elif item.key in seen:
            message = f"listed again (duplicate of item {item.key}); this copy skipped"
            index.problems.append(Problem(_where(item), message))
        else:
            seen.add(item.key)
            items.append(item)
    kept = [m for m in index.metadata if not paths.escape(root, m, follow_links)]
    for path in set(index.metadata) - set(kept):
        index.problems.append(Problem(str(path), paths.escape(root, path, follow_links)))
    if not index.items and not index.problems:
        index.problems.append(Problem(str(root), f"no items found; expected {layout}"))
    index.items, index.metadata = items, kept
    return index


def _where(item: Item) -> str:
    return str(item.files[0]) if len(item.files) == 1 else item.key


def sample_problems(sample, modality: str, shape: tuple[int, ...]) -> list[str]:
    """What is wrong with one preprocessed sample (empty when nothing is).

    Example:
        >>> from bench.datasets.real.base import MammoSample
        >>> sample_problems(MammoSample(np.full((4, 4), np.nan, np.float32), 2, "p"),
        ...                 "mammo", (4, 4))
        ['image: 16 NaN or infinite value(s)', 'label 2: expected 0 (benign) or 1 (malignant)']
    """
    found = _image_problems(np.asarray(sample.image), shape)
    if modality == "mammo":
        if sample.label not in (0, 1):
            found.append(f"label {sample.label}: expected 0 (benign) or 1 (malignant)")
        return found
    mask, attributes = np.asarray(sample.mask), np.asarray(sample.attributes, float)
    if mask.shape != tuple(shape):
        found.append(f"mask of shape {mask.shape}, expected {tuple(shape)}")
    elif not np.isin(mask, (0, 1, 2, 3)).all():
        found.append("mask: label classes other than 0-3")
    if attributes.shape != (len(ATTRIBUTES),):
        return [*found, f"attributes of shape {attributes.shape}, expected (14,)"]
    value = dict(zip(ATTRIBUTES, attributes.tolist(), strict=True))
    bad = [n for n, v in value.items() if not np.isfinite(v)]
    bad += [n for n, allowed in _CATEGORIES.items() if value[n] not in allowed]
    if bad:
        found.append(f"attribute(s) {', '.join(dict.fromkeys(bad))} not finite or out of range")
    return found


def _image_problems(image: np.ndarray, shape: tuple[int, ...]) -> list[str]:
    if image.shape != tuple(shape):
        return [f"image of shape {image.shape}, expected {tuple(shape)}"]
    if image.dtype.kind != "f":
        return [f"image of dtype {image.dtype}, expected float"]
    bad = int(image.size - np.count_nonzero(np.isfinite(image)))
    if bad:
        return [f"image: {bad} NaN or infinite value(s)"]
    if image.size and (image.min() < 0 or image.max() > 1):
        return ["image values outside [0, 1]"]
    return []
