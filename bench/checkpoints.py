"""Checkpoints: cached public-data models of the tasks, and user weights.

What a task trains on public data (autoencoders, pre-trained models, GANs, evaluators)
is cached in the user cache directory under a hash of what made it (configs, data
identity, seed), so that a grid trains it once. A checkpoint is a ``torch.save`` of
tensors only (loaded with ``weights_only=True``: no pickled code runs) with a JSON
side-car that holds its SHA-256 and the key. A user's file whose hash does not match its
side-car, or weights that do not fit the model, raise :class:`CheckpointError` instead
of being used silently. A *cache entry* is also recorded in the cache index
(:mod:`bench.cache`): one whose bytes no longer match the index (edited, zeroed,
truncated, its side-car deleted or rewritten) is discarded with one warning and rebuilt
(:func:`store_entry` / :func:`load_entry`).

A cache entry's file name covers its inputs *and* what else changes the trained bytes
(:func:`build_identity`): the source code of the suite and of the package that trains
it (which includes the built-in data generators), the torch version, the device type and
the CPU thread count (reductions split over threads round differently). So an entry made
by other code, or with another thread count, is never reused: a cold cache and a warm one
give the same weights.

Example:
    >>> key_of({"kind": "autoencoder", "seed": 0}) == key_of({"seed": 0, "kind": "autoencoder"})
    True
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.util
import io
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from bench.cache import (
    bytes_sha256,
    cache_dir,
    index_entry,
    verified_entry,
    write_json_atomic,
)
from bench.config import json_ready
from bench.errors import BenchError
from bench.locks import build_lock
from bench.progress import loaded, note, public_stage  # public_stage: also for methods

WRAPPER_PREFIX = "_module."  # opacus's GradSampleModule renames every key this way


class CheckpointError(BenchError):
    """A checkpoint that is missing, corrupt, or made for another model or key."""


def key_of(parts: dict[str, Any]) -> str:
    """A short, order-independent hash of a JSON-able description."""
    text = json.dumps(json_ready(parts), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


file_sha256 = bytes_sha256  # the SHA-256 of a file's bytes (public API for methods)


def write_checkpoint(path: Path, state: dict, meta: dict[str, Any]) -> str:
    """Save ``state`` (tensors) and ``meta`` (JSON) atomically; return the file's SHA-256."""
    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    cpu = {k: v.detach().cpu() for k, v in state.items()}
    # Serialised in memory: torch.save to a path names the archive after the file, and a
    # random temp name would make the bytes (and the SHA-256 the record keeps) differ
    # between two runs that trained identical weights.
    buffer = io.BytesIO()
    torch.save({"state_dict": cpu, "meta": json.dumps(json_ready(meta))}, buffer)
    sha = hashlib.sha256(buffer.getbuffer()).hexdigest()
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(buffer.getvalue())
            handle.flush()
            os.fsync(handle.fileno())
        write_json_atomic(path.with_suffix(".json"), {"sha256": sha, "meta": json_ready(meta)})
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return sha


def read_checkpoint(
    path: Path | str, what: str, sha: str | None = None
) -> tuple[dict, dict[str, Any], str]:
    """(state dict, meta, SHA-256) of a checkpoint; ``what`` names it in errors.

    Accepts the suite's format and a bare state dict (e.g. a user's own weights); keys
    saved from opacus's wrapper lose their ``_module.`` prefix. ``sha`` is the file's
    SHA-256 when the caller has just verified its bytes (it is not read twice).
    """
    import torch

    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{what}: no checkpoint at {path}")
    sha = sha or file_sha256(path)  # a caller that just verified the bytes passes it
    sidecar = path.with_suffix(".json")
    if sidecar.is_file() and json.loads(sidecar.read_text()).get("sha256") != sha:
        raise CheckpointError(f"{what}: {path} is corrupt (its SHA-256 differs from {sidecar})")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many kinds for a damaged file
        raise CheckpointError(f"{what}: {path} is not a readable checkpoint ({exc})") from None
    if not isinstance(payload, dict):
        raise CheckpointError(f"{what}: {path} holds {type(payload).__name__}, not weights")
    state = payload.get("state_dict", payload)
    meta = json.loads(payload["meta"]) if isinstance(payload.get("meta"), str) else {}
    state = {k.removeprefix(WRAPPER_PREFIX): v for k, v in state.items()}
    return state, meta, sha


def load_into(module, state: dict, what: str) -> None:
    """Load ``state`` into ``module`` strictly; a mismatch is a :class:`CheckpointError`."""
    try:
        module.load_state_dict(state)
    except RuntimeError as exc:
        first = str(exc).splitlines()[1:3]
        raise CheckpointError(
            f"{what}: the weights do not fit this model ({' '.join(first).strip()}); "
            "they were made with another architecture or profile"
        ) from None


def store_entry(path: Path, state: dict, meta: dict[str, Any]) -> str:
    """Write the cache entry ``path`` (see :func:`write_checkpoint`) and index it."""
    return index_entry(path, write_checkpoint(path, state, meta))


def load_entry(path: Path, what: str) -> tuple[dict, dict[str, Any], str] | None:
    """(state, meta, SHA-256) of the cache entry ``path``, or ``None`` to rebuild it.

    ``None`` on a miss, and for an entry that fails the cache index (it is then removed
    with one warning naming it).
    """
    path = Path(path)
    sha = verified_entry(path, what)
    if sha is None:
        path.with_suffix(".json").unlink(missing_ok=True)
        return None
    return read_checkpoint(path, what, sha)


@functools.cache
def source_digest(package: str) -> str:
    """A 16-hex-digit hash of the ``.py`` sources of an importable top-level package.

    Example:
        >>> len(source_digest("bench"))
        16
    """
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise BenchError(f"cannot hash the code of {package!r}: not an importable package")
    digest = hashlib.sha256()
    for root in spec.submodule_search_locations:
        for path in sorted(Path(root).rglob("*.py")):
            digest.update(f"{path.relative_to(root)}\0".encode() + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def build_identity(device: str, code: tuple[str, ...]) -> dict[str, Any]:
    """What changes the bytes of a model trained from given inputs, besides the inputs.

    Args:
        device: the device it is trained on (only its type counts: cpu, cuda).
        code: the top-level packages whose code trains it (``bench`` is always included).
    """
    import torch

    device_type = device.partition(":")[0]
    return {
        "code": {name: source_digest(name) for name in dict.fromkeys(("bench", *code))},
        "torch": torch.__version__,
        "device": device_type,
        "threads": torch.get_num_threads() if device_type == "cpu" else None,
    }


def entry_path(task: str, kind: str, name: str, *, device: str, code: tuple[str, ...]) -> Path:
    """The cache file of the entry ``name`` of ``task/kind`` built by ``code`` on ``device``."""
    return cache_dir(task, kind) / f"{name}-{key_of(build_identity(device, code))}.pt"


@contextlib.contextmanager
def entry_lock(path: Path, what: str) -> Iterator[None]:
    """Look up and build the cache entry ``path`` inside this block: one process at a time.

    Parallel cells that need the same missing public part (``what``, as the progress
    display names it) train it once; the others wait here, say so, then load it. The
    lookup is inside too: an entry is renamed into place before its index record is
    written, so a reader outside the lock could judge a fresh entry unindexed.
    """
    with build_lock(path, on_wait=lambda: note(f"{what}: waiting for the cell training it")):
        yield


def entry_loaded(what: str) -> None:
    """Tell the progress display that the public part ``what`` came from the cache."""
    loaded(what)


def cached(
    task: str,
    kind: str,
    key: dict[str, Any],
    build: Callable[[], tuple[dict, dict]],
    *,
    device: str,
    code: tuple[str, ...] = (),
) -> tuple[dict, dict[str, Any], str]:
    """(state, meta, SHA-256) from the cache entry of ``key``, built on a miss.

    ``build`` returns (state dict, meta); it trains on ``device`` with the code of the
    packages ``code`` (see :func:`build_identity`). The stored meta must repeat the key:
    a file under the right name made from another description is refused. Entries live
    in the user cache directory under ``task/kind/``; one that fails the cache index is
    rebuilt. A missing entry is built under a file lock: parallel cells that need it
    wait for one build instead of training it twice.
    """
    path = entry_path(task, kind, key_of(key), device=device, code=code)
    what = f"{kind} (public)"
    with entry_lock(path, what):
        entry = load_entry(path, f"cached {kind}")
        if entry is not None:
            state, meta, sha = entry
            if meta.get("key") != json_ready(key):
                raise CheckpointError(f"cached {kind} {path} was made for another key; delete it")
            entry_loaded(what)
            return state, meta, sha
        with public_stage(what):
            state, meta = build()
        meta = {**meta, "key": json_ready(key)}
        sha = store_entry(path, state, meta)
    return state, meta, sha
