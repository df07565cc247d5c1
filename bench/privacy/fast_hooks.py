"""The ``fast-hooks`` grad-sample mode: opacus's hooks, without two costs they add.

Opacus's ``hooks`` mode gets each layer's per-sample gradients from its activations and
output gradients, and the DP optimizer clips and sums those. Two costs on top of that are
wasted work, and this mode removes them; everything that decides the mechanism (which
gradients are clipped, the flat clipping at C, the sum, the noise, the accountant) stays
opacus's own ``GradSampleModule`` and ``DPOptimizer``:

1. Autograd also computes every parameter's *summed* gradient, which the DP optimizer
   overwrites unread. Here a layer whose input already carries gradient runs its forward
   with its parameters detached from the graph (``requires_grad`` off for the call, back on
   at once), so backward computes its output gradient -- all the hooks need -- and not the
   summed weight gradient. A layer whose inputs carry no gradient (the first layer, an
   embedding of the timesteps) keeps its parameters in the graph, so that everything after
   it is reached by backward.
2. Opacus's convolution sampler unfolds the input (im2col) and multiplies per sample.
   Here one grouped convolution backward does it: the batch is folded into the channels
   (sample b's channels form group b), so oneDNN's weight-gradient kernel returns all the
   per-sample gradients at once, without the unfolded copy.

``tests/bench/privacy/test_ledger.py`` checks the clipped sum against a per-example loop.
"""

from __future__ import annotations

import itertools

import torch
from opacus import GradSampleModule
from torch import Tensor, nn

_WEIGHT_GRAD = {1: torch.nn.grad.conv1d_weight, 2: torch.nn.grad.conv2d_weight,
                3: torch.nn.grad.conv3d_weight}  # fmt: skip


def grouped_conv_grad_sample(
    layer: nn.Conv1d | nn.Conv2d | nn.Conv3d, activations: list[Tensor], backprops: Tensor
) -> dict[nn.Parameter, Tensor]:
    """Per-sample gradients of a zero-padded convolution from one grouped convolution.

    With the batch folded into channels, input (1, B * C_in, ...) and output gradient
    (1, B * C_out, ...) under ``B * groups`` groups have the weight gradient
    (B * C_out, C_in / groups, k...): sample b's gradient is rows b * C_out onwards.
    """
    x = activations[0].to(backprops.dtype)
    n, grads = len(x), {}
    if layer.weight.requires_grad:
        shape = (n * layer.weight.shape[0], *layer.weight.shape[1:])
        folded = _WEIGHT_GRAD[x.dim() - 2](
            x.reshape(1, -1, *x.shape[2:]), shape, backprops.reshape(1, -1, *backprops.shape[2:]),
            layer.stride, layer.padding, layer.dilation, n * layer.groups,
        )  # fmt: skip
        grads[layer.weight] = folded.view(n, *layer.weight.shape)
    if layer.bias is not None and layer.bias.requires_grad:
        grads[layer.bias] = backprops.flatten(2).sum(2)
    return grads


# Below this many output positions per sample, oneDNN's grouped weight-gradient kernel
# (one small reduction per group) was slower than unfold + batched matmul (the
# discriminator's 8 x 8 -> 4 x 4 layer: 0.5 s against 0.2 s at batch 128). A fixed rule,
# not a timing: the same shapes always take the same path, so runs reproduce bit for bit.
MIN_POSITIONS = 64


def _opacus_sampler_needed(layer: nn.Module, backprops: Tensor) -> bool:
    """Few output positions (see MIN_POSITIONS), or padding the grouped call cannot
    express (reflect, 'same')."""
    return (
        backprops[0].numel() // backprops.shape[1] < MIN_POSITIONS
        or getattr(layer, "padding_mode", "zeros") != "zeros"
        or isinstance(layer.padding, str)
    )


def wrap(module: nn.Module, *, loss_reduction: str) -> GradSampleModule:
    """``module`` as opacus's ``GradSampleModule`` (hooks) with this mode's two savings.

    Hand the result to ``PrivacyEngine.make_private(grad_sample_mode="hooks")``: opacus
    accepts a module it already wraps, and its optimizer then clips as in ``hooks``.
    """
    gsm = GradSampleModule(module, batch_first=True, loss_reduction=loss_reduction)
    samplers = dict(GradSampleModule.GRAD_SAMPLERS)  # this instance only: never global
    for conv in (nn.Conv1d, nn.Conv2d, nn.Conv3d):
        samplers[conv] = _conv_sampler(samplers[conv])
    gsm.GRAD_SAMPLERS = samplers
    for layer in gsm.iterate_submodules(gsm._module):
        _detach_when_fed(gsm, layer)
    return gsm


def _conv_sampler(opacus_sampler):
    def sampler(layer, activations, backprops):
        # an empty Poisson batch gets opacus's zeros
        if len(backprops) == 0 or _opacus_sampler_needed(layer, backprops):
            return opacus_sampler(layer, activations, backprops)
        return grouped_conv_grad_sample(layer, activations, backprops)

    return sampler


def _detach_when_fed(gsm: GradSampleModule, layer: nn.Module) -> None:
    """Hooks that run ``layer``'s forward with its parameters out of the graph when one of
    its inputs carries gradient (saving 1.). They run before opacus's own forward hook
    (``prepend``), which then sees the parameters trainable again; ``remove_hooks``
    removes them with opacus's."""
    off: list[nn.Parameter] = []

    def before(mod, args, kwargs):
        if not (gsm.hooks_enabled and mod.training and torch.is_grad_enabled()):
            return
        inputs = itertools.chain(args, kwargs.values())
        if any(isinstance(t, Tensor) and t.requires_grad for t in inputs):
            off[:] = [p for p in mod.parameters(recurse=False) if p.requires_grad]
            for p in off:
                p.requires_grad_(False)

    def after(mod, args, output):
        for p in off:
            p.requires_grad_(True)
        off.clear()

    gsm.autograd_grad_sample_hooks += [
        layer.register_forward_pre_hook(before, with_kwargs=True, prepend=True),
        layer.register_forward_hook(after, prepend=True),
    ]
