"""Conditioning of the cardiac latent diffusion model on the 14 attributes of study A.

Attributes come in the paper's order (LVEDV, LVESV, LVEF, RVEDV, RVESV, RVEF,
MYOESTHICK, MYOEDTHICK, AGE, SEX, BMI, ESED, ANGLE, DEPTH), raw units, -1 = missing.
:class:`AttributeScaler` maps each present value to [0, 1] with the minimum and maximum of
the *public* data (privacy rule 1: no statistic of the private data enters the model
outside DP-SGD) and keeps missing values at -1, which then lies outside the range of any
present value. :class:`AttributeEmbedder` is the paper's embedder: one Linear(1 -> 16) +
SELU per attribute (one token each) and one self-attention layer over the 14 tokens.

Example:
    >>> import numpy as np
    >>> public = np.array([[0.0] * 14, [10.0] * 14], np.float32)
    >>> scaler = AttributeScaler.fit(public)
    >>> scaler.transform(np.array([[5.0] * 13 + [-1.0]], np.float32))[0, [0, 13]].tolist()
    [0.5, -1.0]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn

from bench.errors import BenchError

N_ATTRIBUTES = 14
MISSING = -1.0


class ConditioningError(BenchError, ValueError):
    """Attributes of the wrong count or kind."""


def check_attributes(attributes, n: int = N_ATTRIBUTES) -> None:
    """Raise a clear error unless ``attributes`` is a (batch, n) array or tensor."""
    shape = tuple(attributes.shape)
    if len(shape) != 2 or shape[1] != n:
        raise ConditioningError(
            f"expected attributes of shape (batch, {n}) in study A's order (LVEDV, LVESV, "
            f"LVEF, RVEDV, RVESV, RVEF, MYOESTHICK, MYOEDTHICK, AGE, SEX, BMI, ESED, ANGLE, "
            f"DEPTH; -1 = missing), got shape {shape}"
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


class _SelfAttention(nn.Module):
    """Multi-head self-attention built from ``nn.Linear`` layers (opacus has their grad
    sampler; ``nn.MultiheadAttention`` owns raw parameters and would need replacing)."""

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        if dim % heads:
            raise ValueError(f"embedding dim {dim} is not divisible by {heads} heads")
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.out = nn.Linear(dim, dim)

    def forward(self, x: Tensor) -> Tensor:
        batch, tokens, dim = x.shape
        qkv = self.qkv(x).reshape(batch, tokens, 3, self.heads, dim // self.heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)
        weights = torch.softmax(q @ k.transpose(-1, -2) / (dim // self.heads) ** 0.5, dim=-1)
        return self.out((weights @ v).transpose(1, 2).reshape(batch, tokens, dim))


class AttributeEmbedder(nn.Module):
    """The paper's attribute embedder: (batch, 14) -> context (batch, 14, dim).

    Each attribute has its own Linear(1 -> dim) + SELU (one token per attribute); one
    self-attention layer mixes the tokens, added to them as a residual so that each token
    keeps its own attribute's value.

    Example:
        >>> AttributeEmbedder(dim=16)(torch.zeros(3, 14)).shape
        torch.Size([3, 14, 16])
    """

    def __init__(self, n_attributes: int = N_ATTRIBUTES, dim: int = 16, heads: int = 1) -> None:
        super().__init__()
        self.n_attributes = n_attributes
        self.tokens = nn.ModuleList(nn.Linear(1, dim) for _ in range(n_attributes))
        self.activation = nn.SELU()
        self.attention = _SelfAttention(dim, heads)

    def forward(self, attributes: Tensor) -> Tensor:
        check_attributes(attributes, self.n_attributes)
        columns = attributes.split(1, dim=1)
        tokens = [self.activation(layer(x)) for layer, x in zip(self.tokens, columns, strict=True)]
        tokens = torch.stack(tokens, dim=1)
        return tokens + self.attention(tokens)
