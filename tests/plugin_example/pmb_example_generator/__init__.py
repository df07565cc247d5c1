"""Example plug-in (docs/add-a-method.md); registers its method on import."""

from dataclasses import dataclass

from bench.tasks import register_method
from bench.tasks.base import MethodSpec

ESED = 11  # the phase column of the attributes: 1 = end-diastole, 0 = end-systole


@dataclass(frozen=True)
class MeanVolumeConfig:
    epochs: int = 4
    batch_size: int = 8
    lr: float = 0.5
    max_grad_norm: float = 1.0


class MeanVolume:
    """The artifact: one volume per phase, learnt with DP-SGD, looked up per request."""

    def __init__(self, table, shape):
        self.table, self.shape, self.info = table, shape, {"kind": "DP mean volume per phase"}

    def generate(self, attributes, seed):
        rows = self.table[(attributes[:, ESED] == 1).astype(int)]
        return rows.clip(0, 1).reshape(len(attributes), *self.shape)


def run(ctx, view, ledger):
    import torch  # inside: importing the plug-in must stay light

    def flatten(volumes, attributes):  # a fixed map of each record on its own
        return volumes.flatten(1), (attributes[:, ESED] == 1).long()

    data = view.private.map(flatten, "flattened volume and its phase")
    model = torch.nn.Embedding(2, view.public.images[0].size)  # row 0: ES, row 1: ED
    c, name = ctx.config, "mean volume per phase"
    sgd = torch.optim.SGD(model.parameters(), lr=c.lr)
    training = ledger.train(model, sgd, data, batch_size=c.batch_size, epochs=c.epochs,
                            max_grad_norm=c.max_grad_norm, name=name)  # fmt: skip
    optimizer = training.optimizer  # opacus's: clips, adds noise (unwrapped at eps=inf)
    for _ in range(c.epochs):
        for volumes, phase in training.data_loader:
            optimizer.zero_grad()
            error = ((training.module(phase) - volumes) ** 2).mean(1)
            (error.sum() / max(len(error), 1)).backward()  # an empty Poisson batch: noise only
            optimizer.step()
    return MeanVolume(model.weight.detach().numpy(), view.volume_shape)


register_method(MethodSpec(
    task="cardiac-ldm", name="mean-volume",
    description="DP-SGD mean volume per cardiac phase (a baseline every generator should beat)",
    configs={p: MeanVolumeConfig() for p in ("smoke", "small", "paper")}, run=run,
))  # fmt: skip
