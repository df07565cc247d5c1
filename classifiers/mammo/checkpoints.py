"""Checkpoints of the ``mammo-cls`` reference models: backbone, GAN, synthetic-data classifier.

Expensive artifacts that do not depend on the epsilon of a cell -- the public
pre-trained backbone, the public GAN and the classifier trained on its samples -- are
cached in the user cache directory, keyed by a hash of everything they depend on
(configuration, data, seed, code format), so a grid trains each once. Each one is trained
under its own seeded RNG, so its weights do not depend on which cell trained it first.

The files are :mod:`bench.checkpoints` cache entries (tensors only, loaded with
``weights_only=True``, recorded in the cache index) whose meta states the format, kind,
key and shape. An entry whose bytes changed since it was written is discarded with a
warning and retrained; a user's file that is corrupt or made for another configuration
is a clear :class:`~bench.errors.BenchError`, never silently used or overwritten.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from pathlib import Path
from typing import Any

import torch

from bench.checkpoints import (
    CheckpointError,
    entry_loaded,
    entry_lock,
    entry_path,
    file_sha256,
    load_entry,
    public_stage,
    read_checkpoint,
    store_entry,
    write_checkpoint,
)
from bench.errors import BenchError

FORMAT = "privmedbench/mammo-cls/2"  # the file layout (2: bench.checkpoints files)
# Part of every cache key, and through the key of every artifact's RNG seed: changing it
# changes the trained models, so it stays put while the results should reproduce.
KEY_VERSION = "privmedbench/mammo-cls/1"


def artifact_key(kind: str, payload: dict[str, Any]) -> str:
    """A short hash of an artifact's kind, inputs and key version."""
    text = json.dumps([KEY_VERSION, kind, payload], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def file_key(path: Path) -> str:
    """A content key of a user's file: the SHA-256 prefix, so an edited file is a new input."""
    return file_sha256(path)[:20]


def artifact_seed(key: str) -> int:
    """The RNG seed of an artifact, derived from its key."""
    return int(key[:8], 16)


@contextlib.contextmanager
def seeded(seed: int):
    """Run a block under its own torch RNG state, leaving the cell's RNG untouched."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


CODE = ("classifiers", "generators")  # the packages whose code trains the cached models


def cache_path(kind: str, key: str, device: str) -> Path:
    """The cache file of ``key``; its name also covers the code, thread count and device
    type that trained it (:func:`bench.checkpoints.entry_path`), not the seed."""
    return entry_path("mammo-cls", kind, key, device=device, code=CODE)


def save_checkpoint(path: Path, kind: str, key: str, meta: dict, state: dict) -> None:
    """Write atomically (temp file + rename): a killed run leaves no partial checkpoint."""
    write_checkpoint(path, state, _blob(kind, key, meta))


def _blob(kind: str, key: str, meta: dict) -> dict:
    return {"format": FORMAT, "kind": kind, "key": key, "meta": meta}


def load_checkpoint(path: Path, kind: str, meta: dict, key: str | None = None):
    """``(state_dict, stored meta)`` of a checkpoint whose kind, shape and key match."""
    if not Path(path).is_file():
        raise BenchError(f"no {kind} checkpoint at {path}")
    try:
        state, blob, _ = read_checkpoint(path, f"{kind} checkpoint")
    except CheckpointError as exc:  # truncated, foreign or tampered files all land here
        raise BenchError(f"corrupt {kind} checkpoint {path} ({exc}); delete it") from None
    return _checked(path, kind, meta, key, state, blob)


def _checked(path: Path, kind: str, meta: dict, key: str | None, state: dict, blob: dict):
    if blob.get("format") != FORMAT or blob.get("kind") != kind:
        raise BenchError(
            f"{path} is not a mammo-cls {kind} checkpoint ({FORMAT}); delete it if it is a "
            "cache entry of an older version"
        )
    stored = blob.get("meta", {})
    wrong = {k: (stored.get(k), v) for k, v in meta.items() if stored.get(k) != v}
    if wrong:
        details = ", ".join(f"{k}: checkpoint {a!r}, expected {b!r}" for k, (a, b) in wrong.items())
        raise BenchError(f"{kind} checkpoint {path} does not match this configuration ({details})")
    if key is not None and blob.get("key") != key:
        raise BenchError(f"{kind} checkpoint {path} was made for other inputs; delete it")
    return state, stored


def cached(kind: str, key: str, meta: dict, make, train, *, device: str, store: bool = True):
    """The artifact ``key``: loaded from the cache, or made and trained, then stored.

    ``make()`` builds the untrained module and ``train(module)`` trains it in place and
    returns extra meta on ``device``; both run under the artifact's own seed (from
    ``key``, so it does not change with the code or thread count). Returns the module (in
    eval mode) and its stored meta. A missing entry is trained under its file lock, so
    parallel cells train it once (:func:`bench.checkpoints.entry_lock`). ``store=False``
    trains every time and keeps nothing: a model trained on private data must go through
    the ledger in every cell that uses it, so that its DP run is accounted there.
    """
    path = cache_path(kind, key, device)
    with seeded(artifact_seed(key)):
        module = make()
        if not store:
            stored = {**meta, **(train(module) or {})}
            return module.cpu().eval(), stored
        # under the entry's lock, so that parallel cells train a missing part once
        with entry_lock(path, f"{kind} (public)"):
            return _load_or_train(path, kind, key, meta, module, train)


def _load_or_train(path: Path, kind: str, key: str, meta: dict, module, train):
    entry = load_entry(path, f"cached {kind}")
    if entry is not None:
        state, stored = _checked(path, kind, meta, key, entry[0], entry[1])
        module.load_state_dict(state)
        entry_loaded(f"{kind} (public)")
        return module.eval(), stored
    with public_stage(f"{kind} (public)"):
        stored = {**meta, **(train(module) or {})}
    module.cpu()  # trained on any device; cached and handed out on the CPU
    store_entry(path, module.state_dict(), _blob(kind, key, stored))
    return module.eval(), stored
