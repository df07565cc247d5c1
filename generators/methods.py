"""Reference methods of this package, registered through the ``bench.methods`` entry point.

Import-light: configs and registrations only; the models load when a cell runs.

- ``cardiac-ldm``: ``dp-ldm`` (public pre-training + DP fine-tuning) and
  ``dp-ldm-scratch`` (DP from scratch), :mod:`generators.dp_ldm`.
"""

from __future__ import annotations

from dataclasses import replace

from bench.tasks import register_method
from bench.tasks.base import MethodSpec, lazy
from generators.ldm_config import AutoencoderConfig, DenoiserConfig, LdmConfig

_LDM = {
    "smoke": LdmConfig(
        autoencoder=AutoencoderConfig(channels=(4, 8, 8), epochs=2, batch_size=8, lr=3e-3),
        denoiser=DenoiserConfig.tiny(),
        pretrain_epochs=2,
        pretrain_batch=8,
        epochs=2,
        batch_size=8,
        cfg_dropout=0.15,
        guidance=2.0,
        sample_steps=4,
    ),
    "small": LdmConfig(
        autoencoder=AutoencoderConfig(
            channels=(8, 16, 32), epochs=12, batch_size=8, lr=3e-3, volumes=300
        ),
        denoiser=DenoiserConfig((16, 32, 32), (False, True, True), 1, 8, 32, 16, 1),
        pretrain_epochs=60,
        pretrain_batch=32,
        pretrain_lr=2e-3,
        epochs=5,
        batch_size=100,
        physical_batch=100,
        cfg_dropout=0.15,
        guidance=3.0,
        sample_steps=25,
    ),
    "paper": LdmConfig(
        autoencoder=AutoencoderConfig(channels=(32, 64, 64), epochs=50, batch_size=16, lr=1e-3),
        denoiser=DenoiserConfig(),
        pretrain_epochs=150,
        pretrain_batch=256,
        pretrain_lr=1e-4,
        epochs=150,
        batch_size=256,
        lr=1e-4,
        physical_batch=32,
        sample_steps=50,
    ),
}


def _ldm_profiles(**changes) -> dict[str, LdmConfig]:
    return {name: replace(config, **changes) for name, config in _LDM.items()}


register_method(
    MethodSpec(
        task="cardiac-ldm",
        name="dp-ldm",
        description="denoiser pre-trained on public data, fine-tuned with DP-SGD on private data",
        configs=_ldm_profiles(pretrain=True),
        run=lazy("generators.dp_ldm.method:run"),
    )
)
register_method(
    MethodSpec(
        task="cardiac-ldm",
        name="dp-ldm-scratch",
        description="denoiser trained with DP-SGD on private data only (no pre-training)",
        configs=_ldm_profiles(pretrain=False),
        run=lazy("generators.dp_ldm.method:run"),
    )
)
