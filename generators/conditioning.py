"""Conditioning of the cardiac latent diffusion model on the 14 attributes of study A.

Attributes come in the paper's order (LVEDV, LVESV, LVEF, RVEDV, RVESV, RVEF,
MYOESTHICK, MYOEDTHICK, AGE, SEX, BMI, ESED, ANGLE, DEPTH), raw units, -1 = missing.
:class:`AttributeScaler` (the task's, :mod:`bench.tasks.cardiac_ldm.api`, since its
evaluators use it too) maps each present value to [0, 1] with the minimum and maximum of
the *public* data (privacy rule 1: no statistic of the private data enters the model
outside DP-SGD) and keeps missing values at -1, which then lies outside the range of any
present value. :class:`AttributeEmbedder` is the paper's embedder: one Linear(1 -> 16) +
SELU per attribute (one token each) and one self-attention layer over the 14 tokens.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from bench.tasks.cardiac_ldm.api import (
    MISSING,
    N_ATTRIBUTES,
    AttributeScaler,
    ConditioningError,
    check_attributes,
)


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


__all__ = [
    "MISSING",
    "N_ATTRIBUTES",
    "AttributeEmbedder",
    "AttributeScaler",
    "ConditioningError",
    "check_attributes",
]
