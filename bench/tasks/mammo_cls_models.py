"""Models of ``mammo-cls`` and their checkpoints: backbone, GAN, synthetic-data classifier.

Expensive artifacts that do not depend on the epsilon of a cell -- the public
pre-trained backbone, the public GAN and the classifier trained on its samples -- are
cached in the user cache directory, keyed by a hash of everything they depend on
(configuration, data, seed, code format), so a grid trains each once. Each one is trained
under its own seeded RNG, so its weights do not depend on which cell trained it first.

A checkpoint is a ``torch.save`` dict (tensors and plain values only, loaded with
``weights_only=True``) stating its format, kind, key and shape; one that is corrupt or
made for another configuration is a clear :class:`~bench.errors.BenchError`, never
silently used or overwritten.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import torch

from bench.cache import cache_dir
from bench.errors import BenchError

FORMAT = "privmedbench/mammo-cls/1"


def artifact_key(kind: str, payload: dict[str, Any]) -> str:
    """A short hash of an artifact's kind, inputs and checkpoint format."""
    text = json.dumps([FORMAT, kind, payload], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def file_key(path: Path) -> str:
    """A content key of a user's file: the SHA-256 prefix, so an edited file is a new input."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:20]


def artifact_seed(key: str) -> int:
    """The RNG seed of an artifact, derived from its key."""
    return int(key[:8], 16)


@contextlib.contextmanager
def seeded(seed: int):
    """Run a block under its own torch RNG state, leaving the cell's RNG untouched."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def cache_path(kind: str, key: str) -> Path:
    return cache_dir("mammo-cls", kind) / f"{key}.pt"


def save_checkpoint(path: Path, kind: str, key: str, meta: dict, state: dict) -> None:
    """Write atomically (temp file + rename): a killed run leaves no partial checkpoint."""
    blob = {"format": FORMAT, "kind": kind, "key": key, "meta": meta, "state_dict": state}
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        torch.save(blob, tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_checkpoint(path: Path, kind: str, meta: dict, key: str | None = None):
    """``(state_dict, stored meta)`` of a checkpoint whose kind, shape and key match."""
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise BenchError(f"no {kind} checkpoint at {path}") from None
    except Exception as exc:  # truncated, foreign or tampered files all land here
        raise BenchError(f"corrupt {kind} checkpoint {path} ({exc}); delete it") from None
    if not isinstance(blob, dict) or blob.get("format") != FORMAT or blob.get("kind") != kind:
        raise BenchError(f"{path} is not a mammo-cls {kind} checkpoint ({FORMAT})")
    stored = blob.get("meta", {})
    wrong = {k: (stored.get(k), v) for k, v in meta.items() if stored.get(k) != v}
    if wrong:
        details = ", ".join(f"{k}: checkpoint {a!r}, expected {b!r}" for k, (a, b) in wrong.items())
        raise BenchError(f"{kind} checkpoint {path} does not match this configuration ({details})")
    if key is not None and blob.get("key") != key:
        raise BenchError(f"{kind} checkpoint {path} was made for other inputs; delete it")
    return blob["state_dict"], stored


def cached(kind: str, key: str, meta: dict, make, train):
    """The artifact ``key``: loaded from the cache, or made and trained, then stored.

    ``make()`` builds the untrained module and ``train(module)`` trains it in place and
    returns extra meta; both run under the artifact's own seed. Returns the module (in
    eval mode) and its stored meta.
    """
    path = cache_path(kind, key)
    with seeded(artifact_seed(key)):
        module = make()
        if path.exists():
            state, stored = load_checkpoint(path, kind, meta, key)
            module.load_state_dict(state)
            return module.eval(), stored
        stored = {**meta, **(train(module) or {})}
    module.cpu()  # trained on any device; cached and handed out on the CPU
    save_checkpoint(path, kind, key, stored, module.state_dict())
    return module.eval(), stored
