"""Registered feature extractors for FID: name, version, preprocessing and weights hash.

- ``phantom-encoder-v1`` (default, offline): a small CNN trained by the suite on public
  phantom images (mammography patches and cardiac short-axis slices, both ``public``
  variants) by ``scripts/train_fid_encoder.py``; its weights ship as package data and
  are checked against the SHA-256 below before use. Input: grayscale resized to 64 x 64.
  Features: 128-d global-average-pooled activations. Its FIDs are comparable only with
  FIDs of the same extractor version, never with Inception FIDs.
- ``inception-v3``: torchvision's ImageNet InceptionV3 pool features (2048-d), for a user
  who has its weights locally (``inception_v3_google-0cc3c7bd.pth``); grayscale is
  repeated to 3 channels and resized to 299 x 299. These are torchvision's weights, not
  the TF-FID network, so the values are close to but not identical with published FIDs.

Every FID in a record names the extractor, its version and the SHA-256 of its weights.

Example:
    >>> sorted(EXTRACTORS.names())
    ['inception-v3', 'phantom-encoder-v1']
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bench.checkpoints import file_sha256
from bench.errors import BenchError
from bench.registry import Registry

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
PHANTOM_ENCODER_FILE = WEIGHTS_DIR / "phantom_encoder_v1.pt"
PHANTOM_ENCODER_SHA256 = "8c119c93bf08dbfda1bcd193e4a827e02e8c62cc664c4df73ea30c05bdfded72"
ENCODER_INPUT = 64
ENCODER_FEATURES = 128


@dataclass(frozen=True)
class ExtractorSpec:
    """A feature extractor: what it is, what it expects, and which weights it needs."""

    name: str
    version: int
    description: str
    input_size: int
    feature_dim: int
    needs_path: bool


EXTRACTORS: Registry[ExtractorSpec] = Registry("feature extractor")
EXTRACTORS.add(
    "phantom-encoder-v1",
    ExtractorSpec(
        "phantom-encoder-v1",
        1,
        "small CNN trained by the suite on public phantom images (offline default)",
        ENCODER_INPUT,
        ENCODER_FEATURES,
        needs_path=False,
    ),
)
EXTRACTORS.add(
    "inception-v3",
    ExtractorSpec(
        "inception-v3",
        1,
        "torchvision ImageNet InceptionV3 pool features (weights supplied by the user)",
        299,
        2048,
        needs_path=True,
    ),
)


def phantom_encoder():
    """The architecture of ``phantom-encoder-v1`` (untrained): 64 x 64 -> 128 features."""
    from torch import nn

    def stage(c_in: int, c_out: int, stride: int) -> list:
        return [nn.Conv2d(c_in, c_out, 3, stride, 1), nn.GroupNorm(8, c_out), nn.GELU()]

    return nn.Sequential(
        *stage(1, 32, 1),
        *stage(32, 32, 2),
        *stage(32, 64, 2),
        *stage(64, 128, 2),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
    )


_FEATURES: dict[tuple[str, str, str], np.ndarray] = {}


@dataclass
class Extractor:
    """A loaded extractor: call :meth:`features` on (n, H, W) images in [0, 1]."""

    spec: ExtractorSpec
    network: Any
    weights_sha256: str

    def identity(self) -> dict[str, Any]:
        """What a record states about the extractor."""
        return {
            "name": self.spec.name,
            "version": self.spec.version,
            "weights_sha256": self.weights_sha256,
            "input_size": self.spec.input_size,
        }

    def features(
        self, images: np.ndarray, batch_size: int = 256, device: str = "cpu"
    ) -> np.ndarray:
        """float64 (n, feature_dim) features of grayscale images in [0, 1]."""
        import torch
        import torch.nn.functional as F

        x = torch.as_tensor(np.array(images, np.float32))[:, None]
        network, out = self.network.to(device), []
        with torch.no_grad():
            for batch in x.split(batch_size):
                size = self.spec.input_size
                batch = F.interpolate(batch, size=size, mode="bilinear", antialias=True)
                out.append(network(self._prepare(batch.to(device))).double().cpu())
        return torch.cat(out).numpy()

    def features_once(self, images: np.ndarray, digest: str, device: str = "cpu") -> np.ndarray:
        """:meth:`features` of a fixed image set named by its content ``digest``, computed
        once per process (the same test or public set serves every cell of a grid)."""
        key = (self.weights_sha256, self.spec.name, digest)
        if key not in _FEATURES:
            if len(_FEATURES) > 16:
                _FEATURES.clear()
            _FEATURES[key] = self.features(images, device=device)
        return _FEATURES[key]

    def _prepare(self, batch):
        if self.spec.name == "inception-v3":  # TF-ported weights expect 3 channels in [-1, 1]
            return batch.expand(-1, 3, -1, -1) * 2 - 1
        return batch * 2 - 1


def load_extractor(name: str, weights: str = "") -> Extractor:
    """Load the extractor ``name``; ``weights`` is the local file for ``inception-v3``."""
    spec = EXTRACTORS.get(name)
    if spec.name == "phantom-encoder-v1":
        return Extractor(spec, _load_encoder(), PHANTOM_ENCODER_SHA256)
    return _load_inception(spec, weights)


def _load_encoder():
    import torch

    if not PHANTOM_ENCODER_FILE.is_file():
        raise BenchError(f"the shipped FID encoder weights are missing: {PHANTOM_ENCODER_FILE}")
    if file_sha256(PHANTOM_ENCODER_FILE) != PHANTOM_ENCODER_SHA256:
        raise BenchError(
            f"{PHANTOM_ENCODER_FILE} does not match its pinned SHA-256; reinstall the package "
            "or retrain with scripts/train_fid_encoder.py and bump the extractor version"
        )
    network = phantom_encoder()
    network.load_state_dict(torch.load(PHANTOM_ENCODER_FILE, map_location="cpu", weights_only=True))
    return network.eval()


def _load_inception(spec: ExtractorSpec, weights: str) -> Extractor:
    import torch
    from torchvision.models import inception_v3

    path = Path(weights).expanduser() if weights else None
    if path is None or not path.is_file():
        raise BenchError(
            "FID extractor inception-v3 needs torchvision's ImageNet InceptionV3 weights on "
            f"disk (inception_v3_google-0cc3c7bd.pth); got {weights!r}. Nothing is downloaded."
        )
    network = inception_v3(weights=None, aux_logits=True, init_weights=False)
    try:
        network.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    except Exception as exc:  # a foreign file is the user's input error
        raise BenchError(f"{path} is not a torchvision inception_v3 state dict: {exc}") from None
    network.fc = torch.nn.Identity()
    return Extractor(spec, network.eval(), file_sha256(path))
