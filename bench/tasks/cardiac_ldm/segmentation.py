"""The networks that score generated cardiac volumes, fitted on public data only.

- a segmentation network (MONAI ``UNet``, 2D, applied slice by slice: the stacks have
  thick slices, as the paper's in-plane design assumes) for LV, myocardium and RV;
- a phase rule (ES vs ED) on its masks: a logistic regression on the log ratio of LV
  cavity to myocardial volume (the myocardium keeps its volume while the cavity
  empties). A CNN on the raw volume, tried first, did not carry over from the public
  population (a pathology mix) to the private one (about 0.5 to 0.8 accuracy on real
  private volumes); the ratio does (about 0.99 on real private phantoms).

Both are part of the metric, not of a method: they are fitted once per profile with a
fixed seed on public volumes, with a fixed schedule, and never see private data.

Example:
    >>> rule = PhaseRule(coef=5.0, intercept=-2.0)
    >>> mask = np.zeros((2, 1, 8, 8), np.uint8); mask[:, 0, 2:6, 2:6] = 2
    >>> mask[0, 0, 3:5, 3:5] = 1; mask[1, 0, 2:6, 2:6] = 1; mask[1, 0, 2, 2] = 2
    >>> rule.predict(mask, (10.0, 1.0, 1.0)).tolist()  # small cavity: ES; large: ED
    [0.0, 1.0]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from bench.datasets.phantoms.cardiac import mask_volumes_ml


def make_segmenter(channels: int) -> nn.Module:
    """A 2D MONAI UNet: 1 channel in, 4 classes out (background, LV, myocardium, RV)."""
    from monai.networks.nets import UNet

    return UNet(
        spatial_dims=2,
        in_channels=1,
        out_channels=4,
        channels=(channels, 2 * channels, 4 * channels),
        strides=(2, 2),
        num_res_units=1,
    )


@dataclass(frozen=True)
class PhaseRule:
    """P(ED) = sigmoid(coef * log(LV volume / myocardial volume) + intercept)."""

    coef: float
    intercept: float

    @staticmethod
    def feature(masks: np.ndarray, spacing_mm) -> np.ndarray:
        volumes = mask_volumes_ml(masks, tuple(spacing_mm))
        return np.log((volumes[:, 0] + 1e-3) / (volumes[:, 1] + 1e-3))

    @classmethod
    def fit(cls, masks: np.ndarray, spacing_mm, phases: np.ndarray) -> PhaseRule:
        from sklearn.linear_model import LogisticRegression

        x = cls.feature(masks, spacing_mm)[:, None]
        model = LogisticRegression().fit(x, np.asarray(phases, int))
        return cls(float(model.coef_[0, 0]), float(model.intercept_[0]))

    def predict(self, masks: np.ndarray, spacing_mm) -> np.ndarray:
        """Predicted ESED (1 = ED, 0 = ES) of each mask, float64 (n,)."""
        score = self.coef * self.feature(masks, spacing_mm) + self.intercept
        return (score > 0).astype(np.float64)


def fit(
    model: nn.Module,
    inputs: Tensor,
    loss_of,
    *,
    epochs: int,
    seed: int,
    device: str,
    batch_size: int = 32,
    lr: float = 2e-3,
    desc: str = "evaluator (public)",
) -> nn.Module:
    """Train ``model`` with Adam for a fixed number of epochs; ``loss_of(model, index)``
    returns the loss of the examples ``index``. Returns it frozen, in eval mode. The
    epochs show in the run's progress display as ``desc``."""
    from bench.progress import track

    torch.manual_seed(seed)
    model = model.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    order = torch.Generator().manual_seed(seed)
    for _ in track(range(epochs), desc=desc, unit="epoch"):
        for index in torch.randperm(len(inputs), generator=order).split(batch_size):
            optimizer.zero_grad()
            loss_of(model, index).backward()
            optimizer.step()
    return model.eval().requires_grad_(False)


def train_segmenter(
    volumes: np.ndarray, masks: np.ndarray, *, channels: int, epochs: int, seed: int, device: str
) -> nn.Module:
    """Fit the slice-wise segmenter on public (n, D, H, W) volumes and label masks."""
    slices = torch.as_tensor(volumes, dtype=torch.float32).reshape(-1, 1, *volumes.shape[2:])
    labels = torch.as_tensor(masks, dtype=torch.long).reshape(-1, *masks.shape[2:])
    torch.manual_seed(seed)

    def loss_of(model, index):
        return F.cross_entropy(model(slices[index].to(device)), labels[index].to(device))

    model = make_segmenter(channels)
    desc = "evaluators (public): segmenter"
    return fit(model, slices, loss_of, epochs=epochs, seed=seed, device=device, desc=desc)


@torch.no_grad()
def segment(model: nn.Module, volumes: np.ndarray, device: str, batch: int = 256) -> np.ndarray:
    """Label masks uint8 (n, D, H, W) of volumes (n, D, H, W) in [0, 1]."""
    n, depth, rows, cols = volumes.shape
    slices = torch.as_tensor(volumes, dtype=torch.float32).reshape(-1, 1, rows, cols)
    labels = [model(x.to(device)).argmax(1).cpu() for x in slices.split(batch)]
    return torch.cat(labels).reshape(n, depth, rows, cols).numpy().astype(np.uint8)
