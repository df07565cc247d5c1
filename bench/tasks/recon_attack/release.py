"""The DP release of ``recon-attack``: real opacus DP-SGD steps of the attack's model.

The task, not the attack, runs the mechanism: the noise multiplier comes from the privacy
ledger (``ledger.calibrated``), the noise from the task's generator, the Poisson sampling
decision from the task, and the accountant the ledger handed out watches the steps of one
trial. No observation is simulated: every one is the parameter update
``W_before - W_after`` of a real :class:`opacus.optimizers.DPOptimizer` step over
``torch.optim.SGD(lr=1.0)``. With ``lr = 1`` that update *is* the clipped, summed, noised gradient,
so what an attack reads is exactly what DP-SGD releases.

Privacy-relevant choices:

* ``loss_reduction="sum"``, for both the ``GradSampleModule`` and the ``DPOptimizer``: the loss
  must be a sum over examples. With ``"mean"`` opacus divides the noisy sum by
  ``expected_batch_size``, and a reduction that does not match the loss silently rescales the
  per-sample gradients by the batch size (TRAPS.md; ``GradSampleModule`` defaults to ``"mean"``).
  With a sum nothing is rescaled and the release is ``sum_i clip(g_i) + N(0, sigma^2 C^2 I)``.
* The noise comes from the caller's ``torch.Generator`` so that every trial is reproducible; the
  caller is the task: an attack holding the noise generator could replay the noise.
* An empty batch (Poisson sampling did not pick the target) is handled by opacus 1.6 itself: its
  per-sample gradients have shape ``(0, ...)``, its clipped sum is zero and the release is pure
  noise. The step still counts for the accountant, as it must.
* ``noise_multiplier=0.0, max_grad_norm=math.inf`` is the non-private baseline (epsilon = inf): no
  clipping, no noise. Opacus cannot express it (its noise std ``0 * inf`` is NaN), so it runs as a
  plain SGD step. ``noise_multiplier=0.0`` with a finite clip still goes through opacus (clipped,
  not noised).
"""

from __future__ import annotations

import copy
import math
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import torch
from opacus import GradSampleModule
from opacus.accountants import IAccountant
from opacus.optimizers import DPOptimizer
from torch import Tensor, nn

from bench.tasks.recon_attack.api import OPACUS_NORM_EPS, Release, clip_factor

LossFn = Callable[[Tensor, Tensor | None], Tensor]


def is_non_private(noise_multiplier: float, max_grad_norm: float) -> bool:
    """Whether the step is the non-private baseline (no clipping, no noise)."""
    return noise_multiplier == 0.0 and math.isinf(max_grad_norm)


def _validate(
    noise_multiplier: float,
    max_grad_norm: float,
    accountant: IAccountant | None,
    sample_rate: float,
) -> None:
    if noise_multiplier < 0 or not max_grad_norm > 0:
        raise ValueError("noise_multiplier must be >= 0 and max_grad_norm > 0")
    if math.isinf(max_grad_norm) and noise_multiplier > 0:
        raise ValueError("an unclipped step has unbounded sensitivity: use a finite max_grad_norm")
    if accountant is not None and noise_multiplier == 0.0:
        raise ValueError("a noiseless step has epsilon = inf: pass no accountant")
    if not 0.0 < sample_rate <= 1.0:
        raise ValueError(f"sample_rate must lie in (0, 1], got {sample_rate}")


class DPStep:
    """A reusable opacus DP-SGD step whose :meth:`release` returns the adversary's observation.

    The model is wrapped once (hooks, optimizer), so hundreds of releases cost little. By default
    each release restores the weights afterwards: the adversary controls the model and sends the
    same crafted weights every round, as a federated server would, so each observation is taken at
    known weights.

    Args:
        model: The unwrapped model; its trainable parameters are released.
        loss_fn: ``loss_fn(outputs, targets) -> scalar`` summed over the batch (see module doc).
        noise_multiplier: sigma; the noise std is ``sigma * C``.
        max_grad_norm: The clip bound C; ``math.inf`` with ``sigma = 0`` is non-private.
        expected_batch_size: Passed to opacus; unused for scaling under ``loss_reduction="sum"``.
        generator: Source of the Gaussian noise.
        accountant: Optional opacus accountant that records every step.
        sample_rate: Poisson rate q the accountant is told about. The caller draws the batch
            (an attack decides whether the target is in it); the step only reports q.

    Example:
        >>> model = nn.Linear(3, 1, bias=False)
        >>> step = DPStep(model, lambda out, _: out.sum(), noise_multiplier=0.0,
        ...               generator=torch.Generator().manual_seed(0))
        >>> step.release(torch.tensor([[3.0, 0.0, 4.0]]))["weight"]
        tensor([[0.6000, 0.0000, 0.8000]])
        >>> step.close()
    """

    def __init__(
        self,
        model: nn.Module,
        loss_fn: LossFn,
        *,
        noise_multiplier: float,
        max_grad_norm: float = 1.0,
        expected_batch_size: int = 1,
        generator: torch.Generator,
        accountant: IAccountant | None = None,
        sample_rate: float = 1.0,
    ) -> None:
        _validate(noise_multiplier, max_grad_norm, accountant, sample_rate)
        self.model, self.loss_fn = model, loss_fn
        self.noise_multiplier, self.max_grad_norm = noise_multiplier, max_grad_norm
        self._params = {n: p for n, p in model.named_parameters() if p.requires_grad}
        self._gsm: GradSampleModule | None = None
        sgd = torch.optim.SGD(self._params.values(), lr=1.0)
        if is_non_private(noise_multiplier, max_grad_norm):
            self._forward, self._optimizer = model, sgd
            return
        # Both opacus objects need the reduction: GradSampleModule defaults to "mean" and would
        # multiply every per-sample gradient by the batch size (invisible at batch size 1).
        self._gsm = GradSampleModule(model, loss_reduction="sum")
        self._forward = self._gsm
        self._optimizer = DPOptimizer(
            sgd,
            noise_multiplier=noise_multiplier,
            max_grad_norm=max_grad_norm,
            expected_batch_size=expected_batch_size,
            loss_reduction="sum",
            generator=generator,
        )
        if accountant is not None:
            hook = accountant.get_optimizer_hook_fn(sample_rate=sample_rate)
            self._optimizer.attach_step_hook(hook)

    @property
    def optimizer(self):
        """The step's optimizer (opacus's :class:`DPOptimizer` unless non-private), for a
        watcher of the release (the privacy audit's canaries)."""
        return self._optimizer

    def release(
        self, inputs: Tensor, targets: Tensor | None = None, *, restore: bool = True
    ) -> dict[str, Tensor]:
        """Run one step on the batch and return ``W_before - W_after`` per parameter name.

        Args:
            inputs: The batch, possibly empty (``inputs.shape[0] == 0``).
            targets: Passed to ``loss_fn``.
            restore: Put the weights back after the step (see the class doc).

        Returns:
            The released update, keyed by the unwrapped module's parameter names.
        """
        before = {n: p.detach().clone() for n, p in self._params.items()}
        self._optimizer.zero_grad(set_to_none=True)
        with warnings.catch_warnings():
            # opacus's full backward hooks warn whenever the inputs do not require grad (always).
            warnings.filterwarnings("ignore", "Full backward hook is firing", UserWarning)
            self.loss_fn(self._forward(inputs), targets).backward()
        self._optimizer.step()
        update = {n: before[n] - p.detach() for n, p in self._params.items()}
        if restore:
            with torch.no_grad():
                for n, p in self._params.items():
                    p.copy_(before[n])
        return update

    def close(self) -> None:
        """Remove opacus's hooks and attributes so the model runs plainly again."""
        if self._gsm is not None:
            self._gsm.cleanup()
            self._gsm = None


def dp_step(
    model: nn.Module,
    inputs: Tensor,
    loss_fn: LossFn,
    *,
    targets: Tensor | None = None,
    noise_multiplier: float,
    max_grad_norm: float = 1.0,
    expected_batch_size: int = 1,
    generator: torch.Generator,
    accountant: IAccountant | None = None,
    sample_rate: float = 1.0,
) -> dict[str, Tensor]:
    """Take one real DP-SGD step on ``model`` and return the released update.

    The model keeps the updated weights, as after any training step, and is left unwrapped.
    Arguments are those of :class:`DPStep` and :meth:`DPStep.release`.

    Example:
        >>> model = nn.Linear(2, 1, bias=False)
        >>> update = dp_step(model, torch.zeros(0, 2), lambda out, _: out.sum(),
        ...                  noise_multiplier=1.0, generator=torch.Generator().manual_seed(0))
        >>> update["weight"].shape  # empty batch: the release is pure noise
        torch.Size([1, 2])
    """
    step = DPStep(
        model,
        loss_fn,
        noise_multiplier=noise_multiplier,
        max_grad_norm=max_grad_norm,
        expected_batch_size=expected_batch_size,
        generator=generator,
        accountant=accountant,
        sample_rate=sample_rate,
    )
    try:
        return step.release(inputs, targets, restore=False)
    finally:
        step.close()


@contextmanager
def trial_steppers(
    model: nn.Module,
    loss_fn: LossFn,
    *,
    accountant: IAccountant | None = None,
    **dp_kwargs,
) -> Iterator[Callable[[int], DPStep]]:
    """Yield ``stepper_for(trial)`` for many independent trials of one attack.

    The trials share one wrapped model (cheap), except trial 0 when an accountant is given: the
    trials are repetitions of one mechanism, not a composition, so the accountant must see the
    steps of a single trial. Trial 0 then runs on a copy of the model with the accountant attached.

    Args:
        model: The model every trial starts from (restored after each release).
        loss_fn: As for :class:`DPStep`.
        accountant: Optional accountant for trial 0.
        **dp_kwargs: The remaining keyword arguments of :class:`DPStep`.
    """
    # Copy before wrapping: a wrapped model carries opacus's hooks.
    twin = copy.deepcopy(model) if accountant is not None else None
    shared = DPStep(model, loss_fn, **dp_kwargs)
    first = shared
    if twin is not None:
        first = DPStep(twin, loss_fn, accountant=accountant, **dp_kwargs)
    try:
        yield lambda trial: first if trial == 0 else shared
    finally:
        shared.close()
        first.close()


def release_trials(
    model: nn.Module,
    loss_fn: LossFn,
    inputs: Tensor,
    *,
    labels: Tensor | None = None,
    noise_multiplier: float,
    max_grad_norm: float,
    sample_rate: float = 1.0,
    steps: int = 1,
    generator: torch.Generator,
    accountant: IAccountant | None = None,
    tell_norm: bool = False,
) -> Iterator[Release]:
    """One :class:`~bench.tasks.recon_attack.api.Release` per row of ``inputs`` (a target).

    Each trial runs ``steps`` real DP-SGD steps of ``model`` (restored to its weights
    before each), on a batch that Poisson sampling fills with the target or leaves empty
    (the adversary knows every other record, whose contributions cancel). The sampling
    decision and the noise come from ``generator``, in that order, step by step. The
    accountant, if any, sees trial 0 only (:func:`trial_steppers`).

    Args:
        model: the model to release (the task passes a copy of the attack's).
        loss_fn: the attack's summed loss.
        inputs: the targets, one per trial, each of the shape the model takes.
        labels: class of each target, or None (the loss ignores them).
        tell_norm: put each target's L2 norm into its release (``norm`` threat models).

    Example:
        >>> from bench.tasks.recon_attack.release import release_trials
        >>> model = nn.Linear(2, 1, bias=False)
        >>> nn.init.zeros_(model.weight) is not None
        True
        >>> (r,) = release_trials(model, lambda out, _: out.sum(), torch.tensor([[0.6, 0.8]]),
        ...                       noise_multiplier=0.0, max_grad_norm=1.0,
        ...                       generator=torch.Generator().manual_seed(0))
        >>> r.updates[0]["weight"], r.sampled
        (tensor([[0.6000, 0.8000]]), (True,))
    """
    with trial_steppers(
        model,
        loss_fn,
        accountant=accountant,
        noise_multiplier=noise_multiplier,
        max_grad_norm=max_grad_norm,
        sample_rate=sample_rate,
        generator=generator,
    ) as stepper_for:
        for i, x in enumerate(inputs):
            stepper, updates, sampled = stepper_for(i), [], []
            label = None if labels is None else labels[i : i + 1]
            for _ in range(steps):
                hit = bool(torch.rand((), generator=generator) < sample_rate)
                batch = x[None] if hit else x.new_zeros(0, *x.shape)
                batch_labels = None if label is None else (label if hit else label[:0])
                updates.append(stepper.release(batch, batch_labels))
                sampled.append(hit)
            yield Release(
                tuple(updates),
                tuple(sampled),
                norm=float(x.norm()) if tell_norm else None,
                label=None if label is None else int(label),
            )


def release_records(
    stepper: DPStep,
    records,
    *,
    input_shape: tuple[int, ...],
    sample_rate: float,
    steps: int,
    generator: torch.Generator,
    labelled: bool = False,
) -> list[dict[str, Tensor]]:
    """``steps`` releases of ``stepper`` on a batch of many private records (each a tensor
    of the model's input shape, or with ``labelled`` an ``(input, label)`` pair), each
    record in a step's batch by Poisson sampling at ``sample_rate`` from ``generator``:
    :func:`release_trials`'s mechanism with more than one record, as the privacy audit's
    canary records need. Every batch is read from ``records`` at once
    (``records.__getitems__``, or one index at a time).

    Example:
        >>> model = nn.Linear(2, 1, bias=False)
        >>> step = DPStep(model, lambda out, _: out.sum(), noise_multiplier=0.0,
        ...               generator=torch.Generator().manual_seed(0))
        >>> records = [torch.tensor([0.6, 0.8]), torch.tensor([0.0, 1.0])]
        >>> out = release_records(step, records, input_shape=(2,), sample_rate=1.0,
        ...                       steps=1, generator=torch.Generator().manual_seed(0))
        >>> out[0]["weight"]
        tensor([[0.6000, 1.8000]])
        >>> step.close()
    """
    read = getattr(records, "__getitems__", None) or (lambda ix: [records[i] for i in ix])
    updates = []
    for _ in range(steps):
        hits = torch.rand(len(records), generator=generator) < sample_rate
        rows = read(torch.nonzero(hits).flatten().tolist())
        inputs = [r[0] for r in rows] if labelled else rows
        batch = torch.stack(inputs) if rows else torch.zeros(0, *input_shape)
        labels = None
        if labelled:
            labels = torch.stack([r[1] for r in rows]) if rows else torch.zeros(0, dtype=torch.long)
        updates.append(stepper.release(batch, labels))
    return updates


__all__ = [
    "OPACUS_NORM_EPS",
    "DPStep",
    "clip_factor",
    "dp_step",
    "release_records",
    "release_trials",
    "trial_steppers",
]
