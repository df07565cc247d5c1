"""The paper's classifier backbone: a frozen torchvision Swin-T with ImageNet weights.

Only the MLP head (768 -> 384 -> 2, 296,066 parameters as in the paper) is trained, so
the backbone is a fixed feature extractor: opacus sees the head alone. Nothing is
downloaded: the user passes the path of torchvision's ``swin_t`` ImageNet state dict
(``swin_t-704ceda3.pth``, ``Swin_T_Weights.IMAGENET1K_V1``), and a missing or
mismatching file is a clear :class:`~bench.errors.BenchError`.

Input: grayscale patches in [-1, 1] are mapped back to [0, 1], repeated to 3 channels,
resized to 224 x 224 and normalised with ImageNet statistics (the weights' own
preprocessing; the paper normalised with 0.5 / 0.5).
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from bench.errors import BenchError
from classifiers.vit import Classifier, MLPHead

FEATURES = 768
HIDDEN = 384
_MEAN = (0.485, 0.456, 0.406)
_STD = (0.229, 0.224, 0.225)


class SwinFeatures(nn.Module):
    """Frozen Swin-T up to its pooled 768-d features, with the preprocessing built in."""

    def __init__(self, swin: nn.Module) -> None:
        super().__init__()
        swin.head = nn.Identity()
        self.swin = swin.requires_grad_(False).eval()
        self.register_buffer("mean", torch.tensor(_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(_STD).view(1, 3, 1, 1))

    def forward(self, images: Tensor) -> Tensor:
        x = ((images + 1) / 2).expand(-1, 3, -1, -1)
        x = F.interpolate(x, size=224, mode="bilinear", align_corners=False)
        return self.swin((x - self.mean) / self.std)


def load_swin_t(weights: str | Path) -> SwinFeatures:
    """Swin-T features from a local ImageNet state dict; raises BenchError when unusable."""
    from torchvision.models import swin_t

    path = Path(weights).expanduser() if str(weights) else None
    if path is None or not path.is_file():
        raise BenchError(
            "backbone swin-t needs torchvision's ImageNet Swin-T weights on disk: "
            "--set pretrained_weights=/path/to/swin_t-704ceda3.pth "
            f"(got {str(weights)!r}; nothing is downloaded at run time)"
        )
    model = swin_t(weights=None)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        model.load_state_dict(state.get("model", state) if isinstance(state, dict) else state)
    except Exception as exc:  # any unreadable or foreign file is the user's input error
        raise BenchError(f"{path} is not a torchvision swin_t state dict: {exc}") from None
    return SwinFeatures(model)


def swin_classifier(weights: str | Path) -> Classifier:
    """Frozen Swin-T features + the paper's head (768 -> 384 -> 2, 296,066 parameters)."""
    return Classifier(load_swin_t(weights), MLPHead(FEATURES, HIDDEN, 2))
