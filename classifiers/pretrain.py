"""Pre-training of the ViT backbone on public images only, without their labels (SimCLR).

The paper's backbone is pre-trained on ImageNet: generic features, nothing learnt about
malignancy. The phantoms' analogue is self-supervised contrastive learning (SimCLR, Chen
et al. 2020) on the ``public`` split: two random views of each image (rotation, scale,
shift, flips, gamma, contrast, noise) must match each other among the batch. Malignancy
labels stay out of it: a backbone trained on the public labels would already solve the
task, and the private data -- the point of the benchmark -- would barely matter.

Nothing here reads private data: the inputs are public images, so training is
non-private and accounts for nothing.

Example:
    >>> import torch
    >>> views = augment(torch.zeros(3, 1, 16, 16), torch.Generator().manual_seed(0))
    >>> tuple(views.shape), bool(views.abs().max() <= 1)
    ((3, 1, 16, 16), True)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from classifiers.training import flip


@dataclass(frozen=True)
class PretrainConfig:
    """SimCLR schedule.

    Attributes:
        epochs: passes over the public images.
        batch_size: images per step (2 views each: 2 x batch_size forward passes).
        lr: peak AdamW learning rate (one-cycle schedule).
        temperature: of the NT-Xent loss.
        projection: output width of the projection head (discarded after training).
    """

    epochs: int = 40
    batch_size: int = 128
    lr: float = 1e-3
    temperature: float = 0.2
    projection: int = 32


def augment(images: Tensor, generator: torch.Generator) -> Tensor:
    """A random view of each image in [-1, 1]: geometry, then intensity, then noise.

    The randomness comes from ``generator`` on the CPU, whatever the images' device.
    """
    n, device = len(images), images.device

    def uniform(low: float, high: float, *shape: int) -> Tensor:
        return (torch.rand(n, *shape, generator=generator) * (high - low) + low).to(device)

    scale, angle = uniform(0.6, 1.0), uniform(0.0, 2 * math.pi)
    shift = uniform(-0.15, 0.15, 2)
    cos, sin = torch.cos(angle) * scale, torch.sin(angle) * scale
    theta = torch.stack(
        [torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1
    )
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    views = F.grid_sample(images, grid, padding_mode="reflection", align_corners=False)
    views = flip(views, torch.randint(4, (n,), generator=generator).to(device))
    gamma = torch.exp(0.25 * torch.randn(n, 1, 1, 1, generator=generator)).to(device)
    unit = ((views + 1) / 2).clamp(0, 1) ** gamma
    unit = unit * uniform(0.8, 1.2, 1, 1, 1) + uniform(-0.1, 0.1, 1, 1, 1)
    noise = torch.randn(unit.shape, generator=generator).to(device)
    unit = unit + noise * uniform(0.0, 0.04, 1, 1, 1)
    return (unit * 2 - 1).clamp(-1, 1)


def nt_xent(z: Tensor, temperature: float) -> Tensor:
    """SimCLR's loss for 2B embeddings where rows i and i + B are views of one image."""
    z = F.normalize(z, dim=1)
    sim = z @ z.T / temperature
    sim = sim.masked_fill(torch.eye(len(z), dtype=torch.bool, device=z.device), float("-inf"))
    b = len(z) // 2
    target = torch.cat([torch.arange(b, 2 * b), torch.arange(b)]).to(z.device)
    return F.cross_entropy(sim, target)


def pretrain_simclr(
    backbone: nn.Module,
    images: Tensor,
    config: PretrainConfig,
    *,
    width: int,
    seed: int,
    device: str = "cpu",
    progress=None,
) -> None:
    """Train ``backbone`` (features of size ``width``) on public ``images`` in place."""
    generator = torch.Generator().manual_seed(seed)
    proj = nn.Sequential(nn.Linear(width, width), nn.GELU(), nn.Linear(width, config.projection))
    backbone.to(device), proj.to(device)
    params = [*backbone.parameters(), *proj.parameters()]
    opt = torch.optim.AdamW(params, lr=config.lr, weight_decay=0.05)
    per_epoch = max(len(images) // config.batch_size, 1)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, config.lr, total_steps=config.epochs * per_epoch, pct_start=0.1
    )
    backbone.train()
    epochs = range(config.epochs)
    desc = "SimCLR pre-training (public)"
    for _ in progress(epochs, desc=desc, unit="epoch") if progress else epochs:
        order = torch.randperm(len(images), generator=generator)
        for i in range(per_epoch):
            batch = images[order[i * config.batch_size : (i + 1) * config.batch_size]].to(device)
            views = torch.cat([augment(batch, generator), augment(batch, generator)])
            loss = nt_xent(proj(backbone(views)), config.temperature)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
    backbone.eval()
