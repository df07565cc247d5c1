"""A GroupNorm ResNet as a ``mammo-cls`` backbone: convolutions for small data under DP.

A convolutional network carries the locality and translation priors a ViT must learn
from data, which matters with a few thousand public patches. The layout is ResNet-10's
(He et al. 2016: a strided stem and max pool, then four stages of one basic residual
block, each stage doubling the channels and halving the resolution, global average
pooling), with two changes for DP-SGD:

- GroupNorm instead of batch norm (Wu & He 2018): batch norm couples the samples of a
  batch, so opacus refuses it; GroupNorm normalizes each sample on its own and has an
  opacus grad sampler, as do the convolutions and linear layers, so ``train=full`` gets
  exact per-sample gradients in every parameter.
- Nothing in place: opacus's backward hooks refuse a hooked module's output that is then
  modified in place. This is why MONAI's ``ResNet`` is not used: its residual blocks add
  the shortcut in place (``out += residual``) and, in MONAI 1.6, build ``BatchNorm2d``
  and ``ReLU(inplace=True)`` whatever ``norm`` and ``act`` ask (those reach the stem only).

Example:
    >>> import torch
    >>> model = ResNetGN(CNNConfig(image_size=32, width=8))
    >>> model(torch.rand(3, 1, 32, 32)).shape
    torch.Size([3, 2])
"""

from __future__ import annotations

from dataclasses import dataclass

import torch.nn.functional as F
from torch import Tensor, nn

from classifiers.vit import Classifier, MLPHead


@dataclass(frozen=True)
class CNNConfig:
    """Shape of a :class:`ResNetGN`.

    Attributes:
        image_size: side of the square input (the network pools globally, so any size
            works; it is recorded so that a checkpoint states what it was trained on).
        in_channels: input channels (1 for the grayscale patches).
        width: channels of the first of the four stages; the features have 8 x width.
        groups: GroupNorm groups (``width`` must be divisible by it).
        head_hidden: hidden width of the MLP head (default: half the features).
        classes: output logits.
    """

    image_size: int = 64
    in_channels: int = 1
    width: int = 32
    groups: int = 8
    head_hidden: int = 0
    classes: int = 2

    def __post_init__(self) -> None:
        if self.width % self.groups:
            raise ValueError(f"width {self.width} is not divisible by groups {self.groups}")

    @property
    def dim(self) -> int:
        """Width of the pooled features (the last stage's channels)."""
        return 8 * self.width

    @property
    def hidden(self) -> int:
        return self.head_hidden or self.dim // 2


def _conv_norm(cin: int, cout: int, kernel: int, stride: int, groups: int) -> nn.Sequential:
    conv = nn.Conv2d(cin, cout, kernel, stride, kernel // 2, bias=False)
    return nn.Sequential(conv, nn.GroupNorm(groups, cout))


class BasicBlock(nn.Module):
    """Two 3 x 3 convolutions and a shortcut (a strided 1 x 1 one where the shape changes)."""

    def __init__(self, cin: int, cout: int, stride: int, groups: int) -> None:
        super().__init__()
        self.first = _conv_norm(cin, cout, 3, stride, groups)
        self.second = _conv_norm(cout, cout, 3, 1, groups)
        reshaped = stride != 1 or cin != cout
        self.shortcut = _conv_norm(cin, cout, 1, stride, groups) if reshaped else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        out = self.second(F.relu(self.first(x)))
        return F.relu(out + self.shortcut(x))  # out of place: see the module docstring


class ResNetBackbone(nn.Module):
    """Images (B, C, H, W) -> pooled features (B, 8 x width)."""

    def __init__(self, config: CNNConfig) -> None:
        super().__init__()
        w, g = config.width, config.groups
        # stride-2 stem and max pool: 64 x 64 patches reach the stages at 16 x 16
        self.stem = nn.Sequential(
            _conv_norm(config.in_channels, w, 3, 2, g), nn.ReLU(), nn.MaxPool2d(3, 2, 1)
        )
        widths = [w * 2**i for i in range(4)]
        self.stages = nn.Sequential(
            *(
                BasicBlock(cin, cout, 1 if i == 0 else 2, g)
                for i, (cin, cout) in enumerate(zip([w, *widths[:-1]], widths, strict=True))
            )
        )

    def forward(self, images: Tensor) -> Tensor:
        return self.stages(self.stem(images)).mean(dim=(2, 3))


class ResNetGN(Classifier):
    """The GroupNorm ResNet of :class:`CNNConfig`: backbone + the ViT's MLP head."""

    def __init__(self, config: CNNConfig) -> None:
        head = MLPHead(config.dim, config.hidden, config.classes)
        super().__init__(ResNetBackbone(config), head)
        self.config = config
