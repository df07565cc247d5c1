"""One training step of the latent denoiser, private or not, for speed and memory checks.

Used by ``benchmarks/test_cardiac_speed.py`` (CPU, pytest-benchmark) and
``scripts/gpu_bench_cardiac.py`` (GPU). The DP step is opacus's: per-sample gradients
(hooks), clipping at C = 1, Gaussian noise (sigma = 1), Adam; the batch size is fixed
(no Poisson sampling) so that every timed step does the same work.

Example:
    >>> from generators.ldm_config import DenoiserConfig
    >>> step = make_step(DenoiserConfig.tiny(), (1, 3, 4, 4), batch=2, private=True)
    >>> step() > 0
    True
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch.utils.data import DataLoader, TensorDataset

from generators.ldm import LatentDenoiser, diffusion_loss, make_scheduler
from generators.ldm_config import DenoiserConfig, DiffusionConfig

SIZES = {
    # latent shapes of the profiles: small (8, 32, 32) volumes, paper (13, 96, 96)
    "small": (DenoiserConfig((16, 32, 32), (False, True, True), 1, 8, 32, 16, 1), (1, 8, 8, 8)),
    "paper": (DenoiserConfig(), (1, 13, 24, 24)),
}


def make_step(
    config: DenoiserConfig,
    latent_shape: tuple[int, ...],
    *,
    batch: int,
    private: bool,
    device: str = "cpu",
    seed: int = 0,
) -> Callable[[], float]:
    """A closure running one optimizer step on a fixed random batch; returns the loss."""
    torch.manual_seed(seed)
    model = LatentDenoiser(config, latent_shape).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
    latents = torch.randn((batch, *latent_shape), device=device)
    attributes = torch.rand((batch, 14), device=device)
    if private:
        from opacus import PrivacyEngine

        loader = DataLoader(TensorDataset(latents, attributes), batch_size=batch)
        model, optimizer, _ = PrivacyEngine(accountant="prv").make_private(
            module=model,
            optimizer=optimizer,
            data_loader=loader,
            noise_multiplier=1.0,
            max_grad_norm=1.0,
            poisson_sampling=False,
        )
    scheduler = make_scheduler(DiffusionConfig())
    generator = torch.Generator(device).manual_seed(seed)

    def step() -> float:
        optimizer.zero_grad()
        loss = diffusion_loss(model, latents, attributes, scheduler, generator)
        loss.backward()
        optimizer.step()
        return float(loss.detach())

    return step


def parameter_count(config: DenoiserConfig, latent_shape: tuple[int, ...]) -> int:
    """Trainable parameters of the denoiser (UNet + attribute embedder)."""
    return sum(p.numel() for p in LatentDenoiser(config, latent_shape).parameters())
