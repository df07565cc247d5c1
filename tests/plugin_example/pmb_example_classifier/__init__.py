"""Example plug-in for mammo-cls (docs/add-a-method.md): DP logistic regression on pixels."""

from dataclasses import dataclass

from bench.tasks import register_method
from bench.tasks.base import MethodSpec


@dataclass(frozen=True)
class LinearConfig:
    epochs: int = 5
    batch_size: int = 32
    lr: float = 0.5
    max_grad_norm: float = 1.0


class LinearClassifier:
    """The artifact's classifier: P(malignant) of (n, H, W) patches in [0, 1]."""

    def __init__(self, model):
        self.model = model

    def scores(self, images):
        import torch

        with torch.no_grad():
            logits = self.model(torch.as_tensor(images).flatten(1) * 2 - 1)
        return torch.softmax(logits.double(), dim=1)[:, 1].numpy()


def run(ctx, view, ledger):
    import torch

    from bench.tasks.mammo_cls.api import MammoArtifact

    c = ctx.config
    torch.manual_seed(ctx.derive_seed("init"))
    model = torch.nn.Linear(view.image_size**2, 2)  # benign, malignant
    data = view.train.map(lambda x, y: (x.flatten(1) * 2 - 1, y), "flattened, in [-1, 1]")
    training = ledger.train(  # DP-SGD: the ledger calibrates sigma for this schedule
        model, torch.optim.SGD(model.parameters(), lr=c.lr), data,
        batch_size=c.batch_size, epochs=c.epochs, max_grad_norm=c.max_grad_norm,
        name="logistic regression",
    )  # fmt: skip
    for _ in range(c.epochs):
        for x, y in training.data_loader:  # Poisson batches of private records
            training.optimizer.zero_grad()
            torch.nn.functional.cross_entropy(training.module(x), y).backward()
            training.optimizer.step()
    return MammoArtifact(LinearClassifier(model), info={"parameters": view.image_size**2 * 2 + 2})


configs = {p: LinearConfig() for p in ("smoke", "small", "paper")}
register_method(MethodSpec("mammo-cls", "dp-linear", "DP logistic regression", configs, run))
