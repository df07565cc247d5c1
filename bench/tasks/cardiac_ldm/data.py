"""The data of a ``cardiac-ldm`` cell: the private split by subject, and the public volumes.

The private data are split by subject (a subject's ED and ES frames stay together); the
training split goes behind the ledger, the test split stays with the task. Public data
(``--public-data``, default the ``public`` variant of the phantoms: another scanner and
population, the role public pre-training data play in study A) are free for methods and
the task's evaluators alike.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from bench.datasets.types import CardiacSet
from bench.errors import BenchError
from bench.tasks.base import CellContext

MIN_SUBJECTS = 3
PUBLIC_PHANTOM = ("phantom-cardiac", "public")


@dataclass(frozen=True)
class PrivateSplit:
    """The private data of a cell, split by subject, and its record block."""

    train: CardiacSet
    test: CardiacSet
    dataset: dict


def private_split(ctx: CellContext) -> PrivateSplit:
    """Training and test splits of the private data; test data only ever score samples.

    Phantoms: ``train_subjects + test_subjects`` subjects of the ``private`` variant.
    Real data: a seeded permutation of the subjects, ``test_subjects`` of them held out
    (half of them, but at least two, for a data set with fewer subjects than that).

    Raises:
        BenchError: when the data has fewer than three subjects: the evaluation splits
            the held-out subjects in two halves, and one subject is left to train on.
    """
    from bench.datasets import DATASETS
    from bench.datasets.loading import load, subset

    settings, seed = ctx.settings, ctx.derive_seed("private-data")
    builtin = DATASETS.get(ctx.dataset).builtin
    total = 2 * (settings.train_subjects + settings.test_subjects) if builtin else None
    data = load(ctx.dataset, root=ctx.data_root, shape=settings.volume, n=total, seed=seed)
    subjects = np.array(data.subjects)
    order = np.random.default_rng(seed).permutation(np.unique(subjects))
    if len(order) < MIN_SUBJECTS:
        raise BenchError(
            f"dataset {ctx.dataset!r} has {len(order)} subject(s) at {ctx.data_root}; "
            f"cardiac-ldm needs at least {MIN_SUBJECTS} (two held out, scored in "
            "subject-disjoint halves, and one to train on)"
        )
    held_out = min(settings.test_subjects, max(2, len(order) // 2))
    test_ids = set(order[:held_out])
    train_ids = set(order[held_out:][: settings.train_subjects])
    test = subset(data, np.flatnonzero([s in test_ids for s in subjects]))
    train = subset(data, np.flatnonzero([s in train_ids for s in subjects]))
    digest = hashlib.sha256(train.images.tobytes() + test.images.tobytes()).hexdigest()[:16]
    block = {
        "name": ctx.dataset,
        "variant": data.variant,
        "train_volumes": len(train),
        "test_volumes": len(test),
        "subjects": len(train_ids) + len(test_ids),
        "shape": list(settings.volume),
        "seed": seed,
        "content_hash": digest,
    }
    if not builtin:
        block.update(root_content_hash=data.provenance.root_hash)
    return PrivateSplit(train, test, block)


def public_source(ctx: CellContext) -> tuple[str, str | None, str | None]:
    """(dataset, variant, root) of the public data: ``--public-data`` or the phantoms."""
    if ctx.public_dataset is None or ctx.public_dataset == PUBLIC_PHANTOM[0]:
        return (*PUBLIC_PHANTOM, None)
    root = str(ctx.public_data_root) if ctx.public_data_root else None
    return ctx.public_dataset, None, root


def load_public(ctx: CellContext, n: int, shape, seed: int) -> tuple[CardiacSet, dict]:
    """``n`` public volumes at ``shape`` and the identity of the data for cache keys."""
    from bench.datasets.loading import load

    name, variant, root = public_source(ctx)
    data = load(name, variant, root, shape=shape, n=n, seed=seed)
    identity = {"name": name, "variant": data.variant, "n": len(data), "shape": list(shape)}
    if root is not None:
        identity["root_content_hash"] = data.provenance.root_hash
    else:
        identity["seed"] = seed
    return data, identity


def sample_ids(test: CardiacSet) -> list[str]:
    """One id per test volume: ``<subject>/<phase>`` (ED, ES or frame index).

    >>> import numpy as np
    >>> attrs = np.full((2, 14), -1, np.float32); attrs[:, 11] = [1, 0]
    >>> sample_ids(CardiacSet(np.zeros((2, 1, 4, 4), np.float32), np.zeros((2, 1, 4, 4),
    ...     np.uint8), attrs, "private", (10.0, 1.8, 1.8), subjects=("7", "7")))
    ['7/ED', '7/ES']
    """
    phase = test.column("ESED")
    names = {1.0: "ED", 0.0: "ES"}
    return [
        f"{subject}/{names.get(float(p), i)}"
        for i, (subject, p) in enumerate(zip(test.subjects, phase, strict=True))
    ]
