"""Data of ``mammo-cls``: the private, test, external and public splits, and their identity.

On the built-in phantoms the private site provides the training split and the internal
test split (disjoint sample indices of one ``private`` data set, like per-patient splits:
each phantom is its own patient), the ``external`` variant a shifted test site (BCDR's
role) and the ``public`` variant the public data. The data set is fixed by
``data_seed``: every seed, epsilon and method sees the same patches, as in the paper.

A real dataset (``--data cbis-ddsm|mammo-png|vindr-mammo --data-root DIR``) provides its
own ``train`` and ``test`` splits (per patient, as the datasets define them), at the
profile's patch size; the public data are ``--public-data`` (all of its patches) or, by
default, the public phantoms. The external site is ``--external-data`` (all of its
patches; BCDR's role), else the phantoms' ``external`` variant for phantom runs and none
for a real run (its record says so and reports internal metrics only).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from bench.errors import DatasetError
from bench.tasks.mammo_cls.api import POSITIVE_CLASS, Split


@dataclass(frozen=True)
class MammoData:
    """The four splits of one data set."""

    name: str
    train: Split
    test: Split
    external: Split | None
    public: Split
    seed: int
    public_name: str = "phantom-mammo (public)"
    root_hash: str | None = None

    def identity(self) -> dict:
        """The record's ``dataset`` block: sizes, content hashes, positive class."""
        splits = {"train": self.train, "test": self.test}
        if self.external is not None:
            splits["external"] = self.external
        every = {**splits, "public": self.public}
        real = self.root_hash is not None
        block = {
            "name": self.name,
            "variant": "train and test splits of the dataset; public (pre-training, GAN)"
            if real
            else "private (train, test), external (test), public (pre-training, GAN)",
            "positive_class": POSITIVE_CLASS,
            "image_size": int(self.train.images.shape[-1]),
            "seed": self.seed,
            "public": self.public_name,
            "samples": {k: len(v) for k, v in every.items()},
            "malignant": {k: int(v.labels.sum()) for k, v in splits.items()},
            "content_hash": {k: v.digest() for k, v in every.items()},
        }
        if self.external is None:
            block["external"] = "none (a real dataset has no external site here)"
        if real:
            block["root_content_hash"] = self.root_hash
        return block


@functools.lru_cache(maxsize=8)
def _phantoms(variant: str, n: int, size: int, seed: int) -> Split:
    """Generated once per process: the local launcher runs a grid's cells in one process."""
    from bench.datasets.phantoms.mammo import make_mammo

    data = make_mammo(n, variant, size=size, seed=seed)
    data.images.flags.writeable = False
    return Split(data.images, data.labels)


def load_data(ctx) -> MammoData:
    """The splits of the cell's dataset at the sizes of its protocol settings."""
    if ctx.public_dataset == NOT_PUBLIC:
        raise DatasetError(
            f"{NOT_PUBLIC} is not public data: its GAN was trained without DP on the "
            "CBIS-DDSM training patients; use it as --set gan_source=published "
            "synthetic_root=DIR (whose records claim no epsilon)"
        )
    if ctx.dataset != "phantom-mammo":
        return _real(ctx)
    config = ctx.settings
    dataset = ctx.dataset
    size, seed = config.image_size, config.data_seed
    private = _phantoms("private", config.n_train + config.n_test, size, seed)
    cut = config.n_train
    external = _external(ctx) or _phantoms("external", config.n_external, size, seed)
    return MammoData(
        name=dataset,
        train=Split(private.images[:cut], private.labels[:cut]),
        test=Split(private.images[cut:], private.labels[cut:]),
        external=external,
        public=_phantoms("public", config.n_public, size, seed),
        seed=seed,
    )


NOT_PUBLIC = "mammo-synthetic-png"  # study B's published synthetic set: a non-DP GAN's output
MIN_TEST = 4  # the FID floor compares two halves of the test split, two patches at least


def _external(ctx) -> Split | None:
    """All patches of the ``--external-data`` site, or None when none is named."""
    if ctx.external_dataset is None:
        return None
    from bench.datasets.loading import load

    data = load(ctx.external_dataset, root=ctx.external_data_root, shape=ctx.settings.image_size)
    if len(set(data.labels.tolist())) < 2:
        raise DatasetError(
            f"the external site {ctx.external_dataset!r} at {ctx.external_data_root} has "
            f"{len(data)} patch(es) of one class; AUROC needs both classes"
        )
    return Split(data.images, data.labels)


def _real(ctx) -> MammoData:
    """``train`` and ``test`` of a real dataset; public data from ``--public-data``."""
    from bench.datasets.loading import describe, load

    config, size = ctx.settings, ctx.settings.image_size
    train = load(ctx.dataset, "train", ctx.data_root, shape=size)
    test = load(ctx.dataset, "test", ctx.data_root, shape=size)
    for name, part in (("train", train), ("test", test)):
        if len(set(part.labels.tolist())) < 2 or len(part) < MIN_TEST:
            raise DatasetError(
                f"the {name} split of {ctx.dataset!r} at {ctx.data_root} has {len(part)} "
                f"patch(es), {int(part.labels.sum())} malignant; mammo-cls needs both classes "
                f"and at least {MIN_TEST} patches in each split"
            )
    if ctx.public_dataset in (None, "phantom-mammo"):
        public, public_name = _phantoms("public", config.n_public, size, config.data_seed), None
    else:
        data = load(ctx.public_dataset, root=ctx.public_data_root, shape=size)
        public, public_name = Split(data.images, data.labels), ctx.public_dataset
    return MammoData(
        name=ctx.dataset,
        train=Split(train.images, train.labels),
        test=Split(test.images, test.labels),
        external=_external(ctx),
        public=public,
        seed=config.data_seed,
        public_name=public_name or "phantom-mammo (public)",
        root_hash=describe(ctx.dataset, ctx.data_root)["root_content_hash"],
    )
