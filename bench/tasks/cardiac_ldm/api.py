"""What a ``cardiac-ldm`` method sees and what it returns: the task's public method API.

A method receives a :class:`CardiacView` and returns a :class:`CardiacGenerator`:

- ``view.public``: public volumes and their attributes (free to use: the public variant
  of the phantoms, or ``--public-data``), with their identity for cache keys;
- ``view.private``: the private training split behind the cell's ledger, records
  ``(volumes float32 (n, D, H, W) in [0, 1], attributes float32 (n, 14))``; train on it
  only through ``ledger.train`` (after fixed per-record maps, ``PrivateData.map``);
- ``view.volume_shape`` and ``view.attribute_names`` (study A's order, raw units,
  ``MISSING`` = -1 for an unknown value). The test volumes are never in the view.

The artifact generates one volume per requested attribute vector; the task asks it for
one volume per held-out test volume and scores them. Attribute normalisation fitted on
public data (:class:`AttributeScaler`) lives here because the task's evaluators use it
too.

Example:
    >>> import numpy as np
    >>> public = np.array([[0.0] * 14, [10.0] * 14], np.float32)
    >>> scaler = AttributeScaler.fit(public)
    >>> scaler.transform(np.array([[5.0] * 13 + [-1.0]], np.float32))[0, [0, 13]].tolist()
    [0.5, -1.0]
"""

from __future__ import annotations

import contextlib
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

from bench.errors import BenchError

if TYPE_CHECKING:
    from bench.privacy.ledger import PrivateData

ATTRIBUTES: tuple[str, ...] = (
    "LVEDV", "LVESV", "LVEF", "RVEDV", "RVESV", "RVEF", "MYOESTHICK", "MYOEDTHICK",
    "AGE", "SEX", "BMI", "ESED", "ANGLE", "DEPTH",
)  # fmt: skip
N_ATTRIBUTES = len(ATTRIBUTES)
MISSING = -1.0


class ConditioningError(BenchError, ValueError):
    """Attributes of the wrong count or kind."""


def check_attributes(attributes, n: int = N_ATTRIBUTES) -> None:
    """Raise a clear error unless ``attributes`` is a (batch, n) array or tensor."""
    shape = tuple(attributes.shape)
    if len(shape) != 2 or shape[1] != n:
        raise ConditioningError(
            f"expected attributes of shape (batch, {n}) in study A's order "
            f"({', '.join(ATTRIBUTES)}; -1 = missing), got shape {shape}"
        )


@dataclass(frozen=True)
class AttributeScaler:
    """Min-max scaling of each attribute with statistics of public data only.

    Attributes:
        low, high: per-attribute minimum and maximum over the public data's present values.
    """

    low: tuple[float, ...]
    high: tuple[float, ...]

    @classmethod
    def fit(cls, public_attributes: np.ndarray) -> AttributeScaler:
        """Statistics of the public attributes (missing values ignored)."""
        check_attributes(public_attributes)
        values = np.where(public_attributes == MISSING, np.nan, public_attributes)
        low, high = np.nanmin(values, axis=0), np.nanmax(values, axis=0)
        low = np.where(np.isnan(low), 0.0, low)  # an attribute the public data never have
        high = np.where(np.isnan(high) | (high <= low), low + 1.0, high)
        return cls(tuple(map(float, low)), tuple(map(float, high)))

    def transform(self, attributes: np.ndarray) -> np.ndarray:
        """Raw attributes (n, 14) -> float32 (n, 14): present values scaled, missing -1."""
        check_attributes(attributes)
        low, high = np.asarray(self.low), np.asarray(self.high)
        scaled = (np.asarray(attributes, np.float64) - low) / (high - low)
        return np.where(attributes == MISSING, MISSING, scaled).astype(np.float32)

    def as_dict(self) -> dict[str, list[float]]:
        return {"low": list(self.low), "high": list(self.high)}


@dataclass(frozen=True)
class PublicVolumes:
    """Public volumes a method may use freely.

    Attributes:
        images: float32 (n, D, H, W) in [0, 1].
        attributes: float32 (n, 14), raw units, -1 = missing.
        spacing_mm: (slice, row, column) voxel size.
        identity: name, variant, count, shape and seed (or content hash) of the data: a
            cache key for what a method derives from them.
    """

    images: np.ndarray
    attributes: np.ndarray
    spacing_mm: tuple[float, float, float]
    identity: dict[str, Any]

    def __len__(self) -> int:
        return len(self.images)


@dataclass(frozen=True)
class CardiacView:
    """Everything a ``cardiac-ldm`` method may see (no test volume is in it)."""

    public: PublicVolumes
    private: PrivateData
    volume_shape: tuple[int, int, int]
    attribute_names: tuple[str, ...] = ATTRIBUTES


@runtime_checkable
class CardiacGenerator(Protocol):
    """The artifact of a ``cardiac-ldm`` method.

    ``generate(attributes, seed)`` returns float32 volumes (n, D, H, W) in [0, 1], one per
    row of raw attributes (n, 14). Optional: ``reconstruct(volumes) -> volumes`` (the
    autoencoder round trip; the task then reports ``fid_reconstruction``) and ``info``, a
    strict-JSON dict (public parts, their hashes, stage seconds) for the record's
    ``scoring.artifact``.
    """

    def generate(self, attributes: np.ndarray, seed: int) -> np.ndarray: ...


class Stopwatch:
    """Wall-clock seconds per named stage (for the record's stage seconds).

    >>> clock = Stopwatch()
    >>> with clock("data"):
    ...     pass
    >>> list(clock.seconds)
    ['data']
    """

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextlib.contextmanager
    def __call__(self, stage: str):
        start = time.perf_counter()
        try:
            yield
        finally:
            elapsed = time.perf_counter() - start
            self.seconds[stage] = round(self.seconds.get(stage, 0.0) + elapsed, 3)
            logging.getLogger("bench").info("cardiac-ldm %s: %.1f s", stage, elapsed)


__all__ = [
    "ATTRIBUTES",
    "MISSING",
    "N_ATTRIBUTES",
    "AttributeScaler",
    "CardiacGenerator",
    "CardiacView",
    "ConditioningError",
    "PublicVolumes",
    "Stopwatch",
    "check_attributes",
]
