"""One entry point for every dataset, phantom or real: :func:`load`.

``load`` returns a :class:`~bench.datasets.types.CardiacSet` or
:class:`~bench.datasets.types.MammoSet` whatever the source. Real data are read from
``root`` by the dataset's loader, preprocessed to ``shape`` and cached in the user
cache under (dataset, content hash of the files read, split, shape, preprocessing
version): a second run reads one ``.npz``. Files that cannot be used are skipped,
reported in the log and kept in ``provenance.problems``
(:func:`bench.datasets.checking.check` reads everything and reports every problem).
Every index is screened (:mod:`bench.datasets.real.screen`): files outside ``root``
are not opened unless ``follow_links``, duplicates are dropped, and every sample is
checked (shape, finite values in range, known classes) before it is used.
"""

from __future__ import annotations

import importlib
import json
import logging
from pathlib import Path

import numpy as np

from bench.datasets import DatasetSpec, require_root
from bench.datasets.cache import cache_key, fingerprint, load_arrays, save_arrays
from bench.datasets.real import paths
from bench.datasets.real.base import ReadError, reason
from bench.datasets.real.screen import sample_problems, screen_index
from bench.datasets.types import CardiacSet, MammoSet, Problem, Provenance
from bench.errors import DatasetError

log = logging.getLogger("bench.datasets")
DEFAULT_SHAPES = {"cardiac": (13, 96, 96), "mammo": (128, 128)}


def load(
    name: str,
    variant: str | None = None,
    root: Path | str | None = None,
    *,
    shape: tuple[int, ...] | int | None = None,
    n: int | None = None,
    seed: int = 0,
    use_cache: bool = True,
    follow_links: bool | None = None,
) -> CardiacSet | MammoSet:
    """Load a dataset at the tasks' shape.

    Args:
        name: a registered dataset (``bench data list``).
        variant: phantom variant or real split; default: the dataset's default.
        root: the local folder of a real dataset (its ``--data-root``).
        shape: (D, H, W) for cardiac, a side or (H, W) for mammography; default: paper.
        n: number of samples; required for phantoms, a prefix of real data.
        seed: seed of the phantoms (real data ignore it).
        use_cache: read and write the preprocessed-array cache (real data).
        follow_links: also open files that resolve outside ``root`` (links, listed
            absolute or ``../`` paths); default: whether ``--follow-links`` was given.

    Raises:
        DatasetError: unknown variant, missing root, or no usable sample.

    Example:
        >>> data = load("phantom-mammo", shape=32, n=4)
        >>> data.images.shape, int(data.labels.sum()), data.provenance.name
        ((4, 32, 32), 2, 'phantom-mammo')
    """
    spec = require_root(name, Path(root) if root is not None else None)
    variant = _variant(spec, variant)
    shape = normalise_shape(spec.modality, shape)
    if spec.builtin:
        return _phantoms(spec, variant, shape, n, seed)
    data = _load_real(spec, variant, Path(root), shape, use_cache, following(follow_links))
    return data if n is None else subset(data, np.arange(min(n, len(data))))


def normalise_shape(modality: str, shape) -> tuple[int, ...]:
    """(D, H, W) for cardiac, (H, W) for mammography; a single int is a square side.

    >>> normalise_shape("mammo", 64), normalise_shape("cardiac", None)
    ((64, 64), (13, 96, 96))
    """
    if shape is None:
        return DEFAULT_SHAPES[modality]
    shape = (shape, shape) if isinstance(shape, int) else tuple(int(s) for s in shape)
    if len(shape) != len(DEFAULT_SHAPES[modality]) or min(shape) < 4:
        raise DatasetError(
            f"bad {modality} shape {shape}: expected {DEFAULT_SHAPES[modality]}-like"
        )
    return shape


def _variant(spec: DatasetSpec, variant: str | None) -> str:
    variant = variant or spec.default_variant
    if variant not in spec.variants:
        raise DatasetError(
            f"dataset {spec.name!r} has no variant {variant!r} (has: {', '.join(spec.variants)})"
        )
    return variant


def _phantoms(spec: DatasetSpec, variant: str, shape, n: int | None, seed: int):
    if n is None:
        raise DatasetError(f"{spec.name} is generated: say how many samples (n)")
    provenance = Provenance(spec.name, variant, preprocessing="phantom")
    if spec.modality == "mammo":
        from bench.datasets.phantoms.mammo import make_mammo

        data = make_mammo(n, variant, size=shape[0], seed=seed)
        subjects = tuple(str(i) for i in range(n))
        return MammoSet(data.images, data.labels, variant, subjects, provenance)
    from bench.datasets.phantoms.cardiac import make_cardiac

    data = make_cardiac(n, variant, shape=shape, seed=seed)
    subjects = tuple(str(i // 2) for i in range(n))
    slice_mm = np.full(n, data.spacing_mm[0], dtype=np.float32)
    has_masks = np.ones(n, dtype=bool)
    return CardiacSet(
        data.images,
        data.masks,
        data.attributes,
        variant,
        data.spacing_mm,
        subjects,
        has_masks,
        slice_mm,
        provenance,
    )


def loader_of(spec: DatasetSpec):
    """The loader object of a real dataset (its module is imported now)."""
    module, _, attribute = spec.loader.partition(":")
    return getattr(importlib.import_module(module), attribute)


def following(follow_links: bool | None) -> bool:
    """``follow_links``, or the process default (``--follow-links``) when it is None."""
    return paths.follow_links_default() if follow_links is None else bool(follow_links)


def index_of(spec: DatasetSpec, root: Path, variant: str, follow_links: bool):
    """The screened index of a local copy (nothing outside ``root`` is opened)."""
    with paths.confined(root, follow_links):
        index = loader_of(spec).index(root, variant)
    return screen_index(index, root, follow_links, spec.layout)


def _load_real(spec, variant: str, root: Path, shape, use_cache: bool, follow_links: bool):
    loader = loader_of(spec)
    index = index_of(spec, root, variant, follow_links)
    root_hash = fingerprint(root, index_files(index))
    key = cache_key(spec.name, root_hash, variant, list(shape), loader.preprocessing)
    cached = load_arrays(spec.name, key) if use_cache else None
    base = Provenance(spec.name, variant, str(root), root_hash, loader.preprocessing)
    if cached is not None:
        data = from_arrays(spec.modality, cached, base, from_cache=True)
        _warn(spec.name, list(data.provenance.problems))  # a cache hit is no reason for silence
        return data
    samples, problems, skipped = _read(loader, index, shape, deep=False)
    if not samples:
        raise nothing_usable(spec.name, root, problems)
    _warn(spec.name, problems)
    if skipped:
        log.warning(
            "%s: %d of %d item(s) skipped, %d sample(s) loaded; bench data check lists why",
            *(spec.name, skipped, len(index.items), len(samples)),
        )
    arrays = to_arrays(spec.modality, samples, problems)
    if use_cache:
        save_arrays(spec.name, key, arrays)
    return from_arrays(spec.modality, arrays, base, from_cache=False)


def nothing_usable(name: str, root: Path, problems: list[Problem]) -> DatasetError:
    """The one-line error of a local copy with no usable sample (its first problems)."""
    shown = "; ".join(str(p) for p in problems[:3]) or "no items found"
    return DatasetError(
        f"no usable sample of {name!r} in {root} ({len(problems)} problem(s): "
        f"{shown}); run bench data check --dataset {name} --data-root {root}"
    )


def index_files(index) -> list[Path]:
    return [*index.metadata, *(f for item in index.items for f in item.files)]


def read_items(loader, index, shape, deep: bool) -> tuple[list, list[Problem]]:
    """Read every item; a bad one becomes a problem and the others go on."""
    samples, problems, _ = _read(loader, index, shape, deep)
    return samples, problems


def _read(loader, index, shape, deep: bool) -> tuple[list, list[Problem], int]:
    """The samples, the problems and the number of items skipped."""
    samples, problems, skipped = [], list(index.problems), 0
    for item in index.items:
        found = _read_item(loader, item, shape, problems, deep)
        skipped += found is None
        samples.extend(found or [])
    return samples, problems, skipped


def _read_item(loader, item, shape, problems: list[Problem], deep: bool) -> list | None:
    """One item's checked samples, or ``None`` (skipped, the reasons in ``problems``)."""
    try:
        found = loader.read(item, shape, problems, deep)
    except ReadError as exc:
        problems.extend(exc.problems(item.subject))
        return None
    except Exception as exc:  # a file odd in an unforeseen way: report it, go on
        log.debug("reading %s failed", item.key, exc_info=True)
        where = str(item.files[0].parent) if item.files else item.key
        problems.append(
            Problem(where, f"could not be read ({reason(exc)}; {item.subject} skipped)")
        )
        return None
    issues = [
        f"sample {k} of {item.key}: {issue}"
        for k, sample in enumerate(found)
        for issue in sample_problems(sample, loader.modality, shape)
    ]
    if issues:
        where = str(item.files[0]) if len(item.files) == 1 else str(item.files[0].parent)
        problems.append(Problem(where, "; ".join(issues) + f" ({item.subject} skipped)"))
        return None
    return found


def _warn(name: str, problems: list[Problem]) -> None:
    for problem in problems[:5]:
        log.warning("%s: %s", name, problem)
    if len(problems) > 5:
        log.warning("%s: %d more problem(s); see bench data check", name, len(problems) - 5)


def to_arrays(modality: str, samples: list, problems: list[Problem]) -> dict[str, np.ndarray]:
    """Stack samples into the arrays of the cache (no pickled objects)."""
    arrays = {
        "images": np.stack([s.image for s in samples]).astype(np.float32),
        "subjects": np.array([s.subject for s in samples], dtype=str),
        "problems": np.array(json.dumps([p.to_dict() for p in problems])),
    }
    if modality == "mammo":
        return {**arrays, "labels": np.array([s.label for s in samples], dtype=np.int64)}
    return {
        **arrays,
        "masks": np.stack([s.mask for s in samples]).astype(np.uint8),
        "attributes": np.stack([s.attributes for s in samples]).astype(np.float32),
        "slice_mm": np.array([s.slice_mm for s in samples], dtype=np.float32),
        "has_masks": np.array([s.has_mask for s in samples], dtype=bool),
    }


def from_arrays(modality: str, arrays: dict, base: Provenance, from_cache: bool):
    """The dataset object of cached or fresh arrays."""
    from dataclasses import replace

    from bench.datasets.real.cardiac_prep import FOV_MM

    problems = tuple(Problem(**p) for p in json.loads(str(arrays["problems"])))
    provenance = replace(base, problems=problems, from_cache=from_cache)
    subjects = tuple(str(s) for s in arrays["subjects"])
    if modality == "mammo":
        return MammoSet(arrays["images"], arrays["labels"], base.variant, subjects, provenance)
    _, _, rows, cols = arrays["images"].shape
    spacing = (float(np.median(arrays["slice_mm"])), FOV_MM / rows, FOV_MM / cols)
    return CardiacSet(
        arrays["images"],
        arrays["masks"],
        arrays["attributes"],
        base.variant,
        spacing,
        subjects,
        arrays["has_masks"],
        arrays["slice_mm"],
        provenance,
    )


def subset(data, index: np.ndarray):
    """The samples ``index`` of a dataset object (provenance kept)."""
    from dataclasses import replace

    subjects = tuple(data.subjects[i] for i in index)
    if isinstance(data, MammoSet):
        return replace(
            data, images=data.images[index], labels=data.labels[index], subjects=subjects
        )
    return replace(
        data,
        images=data.images[index],
        masks=data.masks[index],
        attributes=data.attributes[index],
        subjects=subjects,
        has_masks=data.has_masks[index],
        slice_mm=data.slice_mm[index],
    )


def pool_index(pool: int, n: int, seed: int) -> np.ndarray:
    """``n`` indices into a pool of ``pool`` samples: a seeded permutation, started again
    from its beginning when ``n`` exceeds the pool.

    >>> idx = pool_index(3, 7, seed=0)
    >>> sorted(idx[:3].tolist()), bool((idx[3:6] == idx[:3]).all())
    ([0, 1, 2], True)
    """
    order = np.random.default_rng(seed).permutation(pool)
    return order[np.arange(n) % pool]


def describe(name: str, root: Path | str | None, follow_links: bool | None = None) -> dict:
    """Name and content hash of a dataset, for a record (no pixel data are read).

    >>> describe("phantom-mammo", None)
    {'name': 'phantom-mammo', 'builtin': True}
    """
    spec = require_root(name, Path(root) if root is not None else None)
    if spec.builtin:
        return {"name": name, "builtin": True}
    index = index_of(spec, Path(root), "all", following(follow_links))
    return {"name": name, "root_content_hash": fingerprint(Path(root), index_files(index))}
