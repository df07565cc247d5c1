"""A vision transformer that opacus trains with exact per-sample gradients in every parameter.

Two opacus traps shape this model (TRAPS.md). A ViT's class token and position embedding
are raw ``nn.Parameter``s; owned by the top-level module, they have no grad sampler and
push opacus into its functorch fallback for the whole model (MONAI's ``ViT`` fails that
way). Here they live in :class:`TokenEmbedding`, a leaf module with its own grad sampler,
so the default ``hooks`` mode covers every parameter. And every parameter is used in the
forward pass (no unused cross-attention norm), so none lacks a per-sample gradient.

Attention is written with ``nn.Linear`` projections around a functional softmax
attention: opacus computes the per-sample gradients of the linear layers and layer norms
from their hooks, and the parameter-free attention in between needs none. No dropout and
no batch norm: both would couple the samples of a batch.

Example:
    >>> import torch
    >>> model = VisionTransformer(ViTConfig(image_size=16, patch_size=4, dim=32, depth=1))
    >>> model(torch.rand(3, 1, 16, 16)).shape
    torch.Size([3, 2])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from opacus.grad_sample import register_grad_sampler
from torch import Tensor, nn


@dataclass(frozen=True)
class ViTConfig:
    """Shape of a :class:`VisionTransformer`.

    Attributes:
        image_size: side of the square input; a multiple of ``patch_size``.
        patch_size: side of the square patches that become tokens.
        in_channels: input channels (1 for the grayscale patches).
        dim: token width.
        depth: transformer blocks.
        heads: attention heads; ``dim`` must be divisible by it.
        mlp_ratio: width of each block's MLP relative to ``dim``.
        head_hidden: hidden width of the classification head (the paper's 768 -> 384 -> 2
            head halves the width; so does the default).
        classes: output logits.
        stem: ``patch`` (one strided convolution, the original ViT) or ``conv`` (a small
            stack of strided 3 x 3 convolutions before the tokens; early convolutions make
            ViTs train far better on small data sets, Xiao et al. 2021).
    """

    image_size: int = 32
    patch_size: int = 4
    in_channels: int = 1
    dim: int = 64
    depth: int = 4
    heads: int = 4
    mlp_ratio: int = 2
    head_hidden: int = 0
    classes: int = 2
    stem: Literal["patch", "conv"] = "patch"

    def __post_init__(self) -> None:
        if self.image_size % self.patch_size:
            raise ValueError(f"image_size {self.image_size} is not a multiple of {self.patch_size}")
        if self.dim % self.heads:
            raise ValueError(f"dim {self.dim} is not divisible by heads {self.heads}")

    @property
    def tokens(self) -> int:
        """Patch tokens plus the class token."""
        return (self.image_size // self.patch_size) ** 2 + 1

    @property
    def hidden(self) -> int:
        return self.head_hidden or self.dim // 2


class TokenEmbedding(nn.Module):
    """Prepends the class token and adds the position embedding, as a leaf module.

    Its per-sample gradients are read straight off the output gradient (see
    :func:`_token_embedding_grad_sample`), so opacus never needs functorch for it.
    """

    def __init__(self, tokens: int, dim: int) -> None:
        super().__init__()
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.randn(1, tokens, dim) * 0.02)

    def forward(self, patches: Tensor) -> Tensor:
        cls = self.cls_token.expand(patches.shape[0], -1, -1)
        return torch.cat([cls, patches], dim=1) + self.pos_embed


@register_grad_sampler(TokenEmbedding)
def _token_embedding_grad_sample(
    layer: TokenEmbedding, activations: list[Tensor], backprops: Tensor
) -> dict[nn.Parameter, Tensor]:
    """Per-sample gradients: the output gradient at the class token, and all of it.

    ``backprops`` is already scaled per sample by opacus (``loss_reduction``), so the
    output y_b = [cls, x_b] + pos gives dL_b/dcls = dL_b/dy_b[0] and dL_b/dpos = dL_b/dy_b.
    """
    grads = {}
    if layer.cls_token.requires_grad:
        grads[layer.cls_token] = backprops[:, None, :1, :]
    if layer.pos_embed.requires_grad:
        grads[layer.pos_embed] = backprops[:, None]
    return grads


class Attention(nn.Module):
    """Multi-head self-attention with linear projections opacus can sample."""

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: Tensor) -> Tensor:
        b, n, d = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        out = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2])
        return self.proj(out.transpose(1, 2).reshape(b, n, d))


class Block(nn.Module):
    """Pre-norm transformer block: attention and MLP, each with a residual."""

    def __init__(self, dim: int, heads: int, mlp_ratio: int) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(
            nn.Linear(dim, mlp_ratio * dim), nn.GELU(), nn.Linear(mlp_ratio * dim, dim)
        )

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


def _stem(config: ViTConfig) -> nn.Module:
    """Images to a (B, dim, H / patch, W / patch) grid of token features."""
    if config.stem == "patch":
        return nn.Conv2d(config.in_channels, config.dim, config.patch_size, config.patch_size)
    layers: list[nn.Module] = []
    channels, size = config.in_channels, config.patch_size
    width = max(config.dim // 4, 8)
    while size > 2:  # each stage halves the resolution; the last one makes the tokens
        layers += [nn.Conv2d(channels, width, 3, 2, 1), nn.GroupNorm(4, width), nn.GELU()]
        channels, size, width = width, size // 2, min(2 * width, config.dim)
    layers.append(nn.Conv2d(channels, config.dim, size, size))
    return nn.Sequential(*layers)


class ViTBackbone(nn.Module):
    """Patch embedding, transformer blocks, final norm; returns the class token's features."""

    def __init__(self, config: ViTConfig) -> None:
        super().__init__()
        self.patch_embed = _stem(config)
        self.tokens = TokenEmbedding(config.tokens, config.dim)
        self.blocks = nn.Sequential(
            *(Block(config.dim, config.heads, config.mlp_ratio) for _ in range(config.depth))
        )
        self.norm = nn.LayerNorm(config.dim)

    def forward(self, images: Tensor) -> Tensor:
        patches = self.patch_embed(images).flatten(2).transpose(1, 2)
        return self.norm(self.blocks(self.tokens(patches)))[:, 0]


class MLPHead(nn.Module):
    """The paper's classification head: Linear, LeakyReLU(0.2), Linear."""

    def __init__(self, dim: int, hidden: int, classes: int) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(dim, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, classes)
        )

    def forward(self, features: Tensor) -> Tensor:
        return self.net(features)


class Classifier(nn.Module):
    """A backbone (images -> features) and a head (features -> logits)."""

    def __init__(self, backbone: nn.Module, head: nn.Module) -> None:
        super().__init__()
        self.backbone = backbone
        self.head = head

    def forward(self, images: Tensor) -> Tensor:
        return self.head(self.backbone(images))

    def freeze_backbone(self) -> Classifier:
        """Stop training the backbone (the paper's frozen pre-trained feature extractor)."""
        self.backbone.requires_grad_(False)
        return self

    def reset_head(self, seed: int) -> Classifier:
        """Re-initialise the head (seeded), e.g. before training it on a new task."""
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            for module in self.head.modules():
                if hasattr(module, "reset_parameters"):
                    module.reset_parameters()
        return self


class VisionTransformer(Classifier):
    """The ViT of :class:`ViTConfig`: backbone + MLP head."""

    def __init__(self, config: ViTConfig) -> None:
        super().__init__(ViTBackbone(config), MLPHead(config.dim, config.hidden, config.classes))
        self.config = config
