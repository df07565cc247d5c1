"""The malignancy-conditioned DCGAN of Osuala et al. (PAPERS.md B), scaled by image size.

Generator: a latent z concatenated with the embedded class (Embedding(2, 50) ->
Linear(50, nz) -> LeakyReLU), then transposed convolutions up to the image size with
batch norm and ReLU, and tanh. Discriminator: the class embedded into an extra image
channel, strided convolutions with LeakyReLU(0.2), one logit (the sigmoid lives in the
loss). The paper's 128 x 128 model has six transposed convolutions (1024 ... 64 -> 1
channels); here the depth follows ``image_size`` and the widths ``width``.

Privacy: the discriminator is the only part that reads private images, so DP-SGD
protects it (Poisson sampling, per-sample clipping, calibrated noise) and the generator
is post-processing of the discriminator's noisy iterates. The discriminator therefore
uses group norm: batch norm would mix the samples of a batch and break per-sample
clipping. The generator never sees data and keeps batch norm.

Example:
    >>> g, d = Generator(CGANConfig(image_size=16, width=8)), Discriminator(CGANConfig(16, 8))
    >>> x = g(torch.randn(4, 100), torch.tensor([0, 1, 0, 1]))
    >>> tuple(x.shape), tuple(d(x, torch.tensor([0, 1, 0, 1])).shape)
    ((4, 1, 16, 16), (4,))
"""

from __future__ import annotations

import contextlib
import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor, nn


@dataclass(frozen=True)
class CGANConfig:
    """Shape of the conditional GAN.

    Attributes:
        image_size: output side, a power of two >= 16 (the paper: 128).
        width: channels of the last generator layer / first discriminator layer; the
            paper's 128 x 128 model has width 64 (1024 channels at 4 x 4).
        nz: latent size (the paper: 100).
        embed_dim: class embedding size (the paper: 50).
        classes: number of conditions (benign, malignant).
    """

    image_size: int = 64
    width: int = 32
    nz: int = 100
    embed_dim: int = 50
    classes: int = 2

    def __post_init__(self) -> None:
        if self.image_size < 16 or self.image_size & (self.image_size - 1):
            raise ValueError(f"image_size must be a power of two >= 16, got {self.image_size}")

    @property
    def stages(self) -> int:
        """Up-sampling stages from 4 x 4 to the image size."""
        return int(math.log2(self.image_size)) - 2

    def channels(self) -> list[int]:
        """Generator channels from 4 x 4 up (the discriminator mirrors them)."""
        top = self.width * 2 ** (self.stages - 1)
        return [max(top // 2**i, self.width) for i in range(self.stages)]


def dcgan_init(module: nn.Module) -> None:
    """DCGAN's initialisation (Radford et al.): N(0, 0.02) convolutions, N(1, 0.02) norms."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, 0.02)
        elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


class Generator(nn.Module):
    """z (nz) + class -> image in [-1, 1] of shape (1, image_size, image_size)."""

    def __init__(self, config: CGANConfig) -> None:
        super().__init__()
        self.config = config
        self.embed = nn.Sequential(
            nn.Embedding(config.classes, config.embed_dim),
            nn.Linear(config.embed_dim, config.nz),
            nn.LeakyReLU(0.2),
        )
        chans = config.channels()
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(2 * config.nz, chans[0], 4, 1, 0, bias=False),
            nn.BatchNorm2d(chans[0]),
            nn.ReLU(True),
        ]
        for c_in, c_out in itertools.pairwise(chans):
            layers += [
                nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=False),
                nn.BatchNorm2d(c_out),
                nn.ReLU(True),
            ]
        layers += [nn.ConvTranspose2d(chans[-1], 1, 4, 2, 1), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        dcgan_init(self)

    def forward(self, z: Tensor, labels: Tensor) -> Tensor:
        h = torch.cat([z, self.embed(labels)], dim=1)
        return self.net(h[:, :, None, None])


class Discriminator(nn.Module):
    """(image, class) -> one logit; the class is an extra image channel (Embedding)."""

    def __init__(self, config: CGANConfig) -> None:
        super().__init__()
        self.config = config
        size = config.image_size
        self.embed = nn.Embedding(config.classes, size * size)
        chans = config.channels()[::-1]
        layers: list[nn.Module] = [nn.Conv2d(2, chans[0], 4, 2, 1), nn.LeakyReLU(0.2)]
        for c_in, c_out in itertools.pairwise(chans):
            layers += [
                nn.Conv2d(c_in, c_out, 4, 2, 1),
                nn.GroupNorm(min(8, c_out // 4), c_out),
                nn.LeakyReLU(0.2),
            ]
        layers.append(nn.Conv2d(chans[-1], 1, 4, 1, 0))
        self.net = nn.Sequential(*layers)
        dcgan_init(self)

    def forward(self, images: Tensor, labels: Tensor) -> Tensor:
        size = self.config.image_size
        cond = self.embed(labels).view(-1, 1, size, size)
        return self.net(torch.cat([images, cond], dim=1)).flatten()


@contextlib.contextmanager
def frozen(module: nn.Module):
    """No gradients for the parameters of ``module`` for the duration (the generator step).

    For an opacus ``GradSampleModule`` its hooks are switched off too: the generator step
    backpropagates through the discriminator, and its per-sample hooks would otherwise
    record that pass as if it were a private discriminator step.
    """
    flags = [p.requires_grad for p in module.parameters()]
    hooks = getattr(module, "hooks_enabled", None)
    module.requires_grad_(False)
    if hooks is not None:
        module.disable_hooks()
    try:
        yield module
    finally:
        for p, flag in zip(module.parameters(), flags, strict=True):
            p.requires_grad_(flag)
        if hooks:
            module.enable_hooks()


def discriminator_loss(
    d: nn.Module,
    real: Tensor,
    real_labels: Tensor,
    fake: Tensor,
    fake_labels: Tensor,
    smooth: float,
) -> Tensor:
    """Mean BCE over one batch of real (target ``smooth``, one-sided smoothing) and fake (0)."""
    images = torch.cat([real, fake])
    labels = torch.cat([real_labels, fake_labels])
    target = torch.cat([torch.full((len(real),), smooth), torch.zeros(len(fake))])
    return F.binary_cross_entropy_with_logits(d(images, labels), target.to(images.device))


def generator_loss(d: nn.Module, fake: Tensor, labels: Tensor) -> Tensor:
    """Non-saturating generator loss: -log D(G(z))."""
    logits = d(fake, labels)
    return F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits))


@torch.no_grad()
def sample(
    g: Generator, per_class: int, *, seed: int, batch_size: int = 256
) -> tuple[Tensor, Tensor]:
    """``per_class`` images of every class in [0, 1] (n, H, W), and their labels."""
    g.eval()
    generator = torch.Generator().manual_seed(seed)
    labels = torch.arange(g.config.classes).repeat_interleave(per_class)
    z = torch.randn(len(labels), g.config.nz, generator=generator)
    device = next(g.parameters()).device
    pairs = zip(z.split(batch_size), labels.split(batch_size), strict=True)
    out = [g(zb.to(device), yb.to(device)).cpu() for zb, yb in pairs]
    return ((torch.cat(out)[:, 0] + 1) / 2).clamp(0, 1), labels


@dataclass(frozen=True)
class GANSchedule:
    """How the GAN is trained: Adam with betas (0.5, 0.999) as the paper.

    The paper's single learning rate (1e-4) collapsed the generator onto one image per
    class in our runs: the discriminator must judge each sample alone (DP forbids batch
    norm there), which removes the batch statistics that keep DCGAN diverse. The two
    time-scale rule (Heusel et al. 2017; a faster discriminator) restores diversity;
    the paper's one-sided label smoothing (real target 0.9) collapsed it again, so it
    is off by default.

    Attributes:
        epochs: passes over the training images (Poisson-sampled under DP).
        batch_size: (expected) real images per discriminator step; as many fakes join them.
        lr_g, lr_d: learning rates of the generator and the discriminator.
        smooth: target of real images (one-sided label smoothing).
        max_grad_norm: per-sample clipping bound C of the discriminator under DP.
    """

    epochs: int = 20
    batch_size: int = 64
    lr_g: float = 1e-4
    lr_d: float = 4e-4
    beta1: float = 0.5
    smooth: float = 1.0
    max_grad_norm: float = 1.0


def train_cgan(
    g: Generator,
    d: Discriminator,
    data,
    schedule: GANSchedule,
    *,
    ledger=None,
    share: float = 1.0,
    generator: torch.Generator | None = None,
    device: str = "cpu",
    select: Selection | None = None,
    progress=None,
):
    """Train the GAN on (images in [-1, 1], labels) records.

    ``data`` is a ledger's ``PrivateData`` (the discriminator then trains with DP-SGD
    through ``ledger.train`` at ``share`` of the cell's budget) or public tensors
    ``(images, labels)`` (non-private, nothing to account).

    Every discriminator step sees the (Poisson) batch of real images and exactly
    ``batch_size`` fakes. The number of fakes must not follow the real batch size: the
    fakes' clipped gradients would then count with the real records, and adding one
    record would move the sum by two clipping bounds instead of one. With a fixed count
    their contribution is independent of the private data given the generator, itself
    post-processing of earlier noisy steps.

    ``select`` keeps the generator snapshot with the best score. Its score must come from
    public data only; choosing among DP snapshots with public data is post-processing.

    Returns:
        The :class:`bench.privacy.ledger.Training` of the discriminator.
    """
    betas = (schedule.beta1, 0.999)
    g.to(device), d.to(device)
    opt_g = torch.optim.Adam(g.parameters(), lr=schedule.lr_g, betas=betas)
    opt_d = torch.optim.Adam(d.parameters(), lr=schedule.lr_d, betas=betas)
    d.train()  # opacus refuses a module in eval mode
    from bench.privacy.ledger import PrivateData, training_for

    training = training_for(
        d,
        opt_d,
        data,
        ledger=ledger,
        batch_size=schedule.batch_size,
        epochs=schedule.epochs,
        max_grad_norm=schedule.max_grad_norm,
        name="cGAN discriminator training",
        share=share,
        noise_generator=generator,
        # opacus's hooks without the work DP discards (bench.privacy.fast_hooks): the
        # fastest per-sample path measured for this model (docs/performance.md)
        grad_sample_mode="fast-hooks",
    )
    epochs = range(1, schedule.epochs + 1)
    desc = f"GAN training on {'private' if isinstance(data, PrivateData) else 'public'} data"
    for epoch in progress(epochs, desc=desc, unit="epoch") if progress else epochs:
        for real, real_labels in training.data_loader:
            _step(training, g, opt_g, real.to(device), real_labels.to(device), schedule)
        if select is not None and (epoch % select.every == 0 or epoch == schedule.epochs):
            select.consider(g, epoch)
    if select is not None:
        select.restore(g)
    g.eval()
    return training


@dataclass
class Selection:
    """Keeps the generator snapshot with the lowest ``score(g)`` (scored every ``every`` epochs).

    Attributes:
        score: a function of the generator in eval mode, lower is better; it must use
            public data only.
        every: epochs between snapshots (the last epoch is always scored).
    """

    score: Callable[[Generator], float]
    every: int = 10
    best: float = math.inf
    best_epoch: int = 0
    history: list = field(default_factory=list)
    _state: dict | None = None

    def consider(self, g: Generator, epoch: int) -> None:
        value = float(self.score(g.eval()))
        self.history.append((epoch, value))
        if value < self.best:
            self.best, self.best_epoch = value, epoch
            self._state = {k: v.detach().clone() for k, v in g.state_dict().items()}

    def restore(self, g: Generator) -> None:
        if self._state is not None:
            g.load_state_dict(self._state)


def _step(training, g: Generator, opt_g, real: Tensor, real_labels: Tensor, schedule) -> None:
    """One discriminator step (DP when wrapped) and one generator step."""
    d, n, classes = training.module, schedule.batch_size, g.config.classes
    g.train()
    fake_labels = torch.randint(classes, (n,)).to(real.device)
    fake = g(torch.randn(n, g.config.nz).to(real.device), fake_labels)
    training.optimizer.zero_grad(set_to_none=True)
    discriminator_loss(d, real, real_labels, fake.detach(), fake_labels, schedule.smooth).backward()
    training.optimizer.step()
    with frozen(d):  # the generator step needs gradients through D, not of D
        opt_g.zero_grad(set_to_none=True)
        generator_loss(d, fake, fake_labels).backward()
        opt_g.step()
