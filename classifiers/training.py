"""Training loops of the reference classifiers, private (DP-SGD) and non-private.

One loop for every kind of data: private records (a ledger's
:class:`~bench.privacy.ledger.PrivateData`) train through :meth:`PrivacyLedger.train`
(Poisson sampling, per-sample clipping, noise calibrated by the ledger, an accountant that
is read back), public or synthetic tensors through a plain shuffled loader.
Every schedule is fixed in advance (epochs, learning rate): nothing is selected or
stopped early by looking at private data, so the schedule itself leaks nothing.

Images enter the models as float tensors in [-1, 1] (the paper's ``Normalize(0.5, 0.5)``),
a fixed map that needs no statistic of any data set.

Example:
    >>> import numpy as np
    >>> to_input(np.ones((2, 4, 4), np.float32)).shape, float(to_input(np.zeros((1, 2, 2))).min())
    (torch.Size([2, 1, 4, 4]), -1.0)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.data import Dataset

from bench.privacy.ledger import PrivacyLedger, PrivateData, Training, training_for

FLIPS = 4  # identity, horizontal, vertical, both: the paper's augmentation


@dataclass(frozen=True)
class TrainConfig:
    """A fixed training schedule.

    Attributes:
        epochs: passes over the data (Poisson-sampled under DP: epochs / q steps).
        batch_size: (expected) batch size.
        lr: peak learning rate of AdamW.
        weight_decay: AdamW's decoupled weight decay.
        label_smoothing: cross-entropy label smoothing (the paper: 0.1).
        max_grad_norm: per-sample clipping bound C under DP.
        augment: random horizontal and vertical flips.
    """

    epochs: int = 10
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 0.05
    label_smoothing: float = 0.1
    max_grad_norm: float = 1.0
    augment: bool = True


def to_input(images: np.ndarray) -> Tensor:
    """(n, H, W) images in [0, 1] -> (n, 1, H, W) float32 in [-1, 1]."""
    return torch.as_tensor(np.array(images, np.float32))[:, None] * 2 - 1


def flip(images: Tensor, code: Tensor) -> Tensor:
    """Flip each image by its code: bit 0 horizontal, bit 1 vertical."""
    h = (code & 1).bool().view(-1, *([1] * (images.dim() - 1)))
    v = (code & 2).bool().view(-1, *([1] * (images.dim() - 1)))
    images = torch.where(h, images.flip(-1), images)
    return torch.where(v, images.flip(-2), images)


def _loss(config: TrainConfig) -> Callable[[Tensor, Tensor], Tensor]:
    return lambda logits, y: F.cross_entropy(logits, y, label_smoothing=config.label_smoothing)


def _optimizer(params: Iterable[nn.Parameter], config: TrainConfig):
    return torch.optim.AdamW(list(params), lr=config.lr, weight_decay=config.weight_decay)


def run_epochs(
    training: Training,
    config: TrainConfig,
    augment,
    device: str,
    progress=None,
    desc: str = "training",
) -> None:
    """The loop shared by private and non-private training: one optimizer step per batch.

    Batches are drawn on the CPU (opacus's Poisson sampler) and moved to ``device``.
    """
    loss_fn, epochs = _loss(config), range(config.epochs)
    for _ in progress(epochs, desc=desc, unit="epoch") if progress else epochs:
        for x, y in training.data_loader:
            x, y = x.to(device), y.to(device)
            training.optimizer.zero_grad(set_to_none=True)
            loss_fn(training.module(augment(x)), y).backward()
            training.optimizer.step()


def _random_flips(x: Tensor) -> Tensor:
    return flip(x, torch.randint(FLIPS, (len(x),)).to(x.device))


def noise_generator(seed: int, device: str = "cpu") -> torch.Generator:
    """A seeded generator for opacus's noise; it must live on the parameters' device."""
    return torch.Generator(device=device).manual_seed(seed)


Data = PrivateData | tuple[Tensor, Tensor] | Dataset


def training_of(
    module: nn.Module,
    params: list[nn.Parameter],
    data: Data,
    config: TrainConfig,
    *,
    ledger: PrivacyLedger | None = None,
    name: str = "classifier training",
    share: float = 1.0,
    generator: torch.Generator | None = None,
) -> Training:
    """The objects to train ``module`` with: DP through ``ledger`` for private records, a
    plain shuffled loader for public tensors (or a public Dataset)."""
    return training_for(
        module,
        _optimizer(params, config),
        data,
        ledger=ledger,
        batch_size=config.batch_size,
        epochs=config.epochs,
        max_grad_norm=config.max_grad_norm,
        name=name,
        share=share,
        noise_generator=generator,
    )


def phase_name(data: Data) -> str:
    """The progress display's name of a training loop over ``data``."""
    private = isinstance(data, PrivateData)
    return "training on private data" if private else "training on public or synthetic data"


def fit(
    model: nn.Module,
    data: Data,
    config: TrainConfig,
    *,
    ledger: PrivacyLedger | None = None,
    name: str = "classifier training",
    share: float = 1.0,
    generator: torch.Generator | None = None,
    device: str = "cpu",
    progress=None,
) -> Training:
    """Train the trainable parameters of ``model`` on (images in [-1, 1], labels) records.

    ``data`` is the ledger's :class:`PrivateData` (DP-SGD at ``share`` of the cell's
    budget unless epsilon = inf) or public tensors (non-private). Returns the
    :class:`~bench.privacy.ledger.Training` whose accountant saw every private step.
    """
    params = [p for p in model.to(device).parameters() if p.requires_grad]
    model.train()  # opacus refuses a module in eval mode
    training = training_of(
        model, params, data, config, ledger=ledger, name=name, share=share, generator=generator
    )
    augment = _random_flips if config.augment else (lambda x: x)
    run_epochs(training, config, augment, device, progress, phase_name(data))
    model.eval()
    return training


class FlippedFeatures(Dataset):
    """Features of every flip of each record; an item is one random flip's features.

    A flip is a function of one record, so sampling one per step keeps the record the
    privacy unit: the augmentation costs no privacy.
    """

    def __init__(self, features: Tensor, labels: Tensor, augment: bool) -> None:
        self.features, self.labels, self.augment = features, labels, augment

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        which = int(torch.randint(FLIPS, ())) if self.augment else 0
        return self.features[index, which], self.labels[index]


def fit_head(
    head: nn.Module,
    data: Data,
    config: TrainConfig,
    *,
    ledger: PrivacyLedger | None = None,
    name: str = "classifier training",
    share: float = 1.0,
    generator: torch.Generator | None = None,
    device: str = "cpu",
    progress=None,
) -> Training:
    """Train a head on frozen-backbone features: records of :class:`FlippedFeatures`.

    The backbone is frozen, so its features are a fixed per-record map
    (``PrivateData.map``) and DP-SGD on (features, label) records protects the same unit
    as DP-SGD on the images.
    """
    head.to(device).train()
    training = training_of(
        head,
        list(head.parameters()),
        data,
        config,
        ledger=ledger,
        name=name,
        share=share,
        generator=generator,
    )
    run_epochs(training, config, lambda x: x, device, progress, phase_name(data))
    head.eval()
    return training


def flipped_features(backbone: nn.Module, augment: bool, device: str = "cpu"):
    """The per-record map (images in [0, 1], labels) -> :class:`FlippedFeatures`."""

    def features(images, labels) -> FlippedFeatures:
        feats = features_of(backbone, to_input(images), device=device)
        return FlippedFeatures(feats, torch.as_tensor(labels), augment)

    return features


@torch.no_grad()
def features_of(
    backbone: nn.Module, images: Tensor, *, device: str = "cpu", batch_size: int = 256
) -> Tensor:
    """Backbone features of every flip of every image: (n, FLIPS, d), on the CPU."""
    backbone.to(device).eval()
    out = []
    for code in range(FLIPS):
        flipped = flip(images, torch.full((len(images),), code))
        out.append(torch.cat([backbone(b.to(device)).cpu() for b in flipped.split(batch_size)]))
    return torch.stack(out, dim=1)


@torch.no_grad()
def malignancy_scores(
    model: nn.Module, inputs: Tensor, *, device: str = "cpu", batch_size: int = 256
) -> np.ndarray:
    """P(malignant) = softmax(logits)[:, 1] for images or features (float64 numpy)."""
    model.to(device).eval()
    logits = torch.cat([model(b.to(device)).cpu() for b in inputs.split(batch_size)])
    return torch.softmax(logits.double(), dim=1)[:, 1].numpy()
