"""The registry of weight initializations: each scheme is defined once here, with its one-line description;
the config's allowed values (engine/vocabulary/config.py) and the Guide read it.

Weights are drawn for one layer of one run, from that run's own generator, in nn.Linear's [out, in] layout
(so `orthogonal` and `default` match PyTorch's own), then transposed by the caller for the batched [in, out]
layout. Every scheme but `default` starts biases at 0. `lsuv` starts orthogonal here; the data-driven
rescaling lives in lsuv.py.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch.nn import init as nn_init


@dataclass(frozen=True)
class InitScheme:
    name: str
    description: str
    # draw(weight [out, in], bias [out], fan_in, fan_out, std, generator): fills the tensors in place
    draw: Callable[[torch.Tensor, torch.Tensor, int, int, float, torch.Generator], object]


def _uniform(weight: torch.Tensor, bound: float, generator: torch.Generator) -> None:
    weight.uniform_(-bound, bound, generator=generator)


def _pytorch_default(weight, bias, fan_in, fan_out, std, g) -> None:
    """nn.Linear.reset_parameters: kaiming_uniform_(a=sqrt(5)) is U(±1/sqrt(fan_in)), and so is the bias."""
    _uniform(weight, 1 / math.sqrt(fan_in), g)
    _uniform(bias, 1 / math.sqrt(fan_in), g)


SCHEMES: dict[str, InitScheme] = {scheme.name: scheme for scheme in [
    InitScheme("default", "PyTorch's nn.Linear: weights and biases uniform in ±1/sqrt(fan_in).", _pytorch_default),
    InitScheme("standard", "Glorot & Bengio's 'standard' heuristic: weights uniform in ±1/sqrt(fan_in) like "
               "default's, but biases 0; too small for deep sigmoid nets.",
               lambda w, b, fan_in, fan_out, std, g: _uniform(w, 1 / math.sqrt(fan_in), g)),
    InitScheme("zeros", "Every weight 0: all units of a layer compute the same thing and stay identical.",
               lambda w, b, fan_in, fan_out, std, g: w.zero_()),
    InitScheme("normal", "Normal with mean 0 and standard deviation init_std, whatever the layer's size.",
               lambda w, b, fan_in, fan_out, std, g: w.normal_(0, std, generator=g)),
    InitScheme("uniform", "Uniform in ±init_std, whatever the layer's size.",
               lambda w, b, fan_in, fan_out, std, g: _uniform(w, std, g)),
    InitScheme("xavier_uniform", "Glorot & Bengio: uniform in ±sqrt(6/(fan_in+fan_out)), keeps the variance of "
               "activations and gradients steady through tanh layers.",
               lambda w, b, fan_in, fan_out, std, g: _uniform(w, math.sqrt(6 / (fan_in + fan_out)), g)),
    InitScheme("xavier_normal", "Glorot & Bengio, normal: std sqrt(2/(fan_in+fan_out)).",
               lambda w, b, fan_in, fan_out, std, g: w.normal_(0, math.sqrt(2 / (fan_in + fan_out)), generator=g)),
    InitScheme("he_uniform", "He et al.: uniform in ±sqrt(6/fan_in), twice Xavier's variance to make up for the "
               "half of its inputs that ReLU zeroes.",
               lambda w, b, fan_in, fan_out, std, g: _uniform(w, math.sqrt(6 / fan_in), g)),
    InitScheme("he_normal", "He et al., normal: std sqrt(2/fan_in), the ReLU net's init.",
               lambda w, b, fan_in, fan_out, std, g: w.normal_(0, math.sqrt(2 / fan_in), generator=g)),
    InitScheme("lecun_normal", "LeCun: normal with std sqrt(1/fan_in), the init selu is made for.",
               lambda w, b, fan_in, fan_out, std, g: w.normal_(0, math.sqrt(1 / fan_in), generator=g)),
    InitScheme("orthogonal", "A random orthogonal matrix (Saxe et al.): preserves the norm of what passes through.",
               lambda w, b, fan_in, fan_out, std, g: nn_init.orthogonal_(w, generator=g)),
    InitScheme("lsuv", "Mishkin & Matas: orthogonal, then layer by layer rescaled on one batch of data until its "
               "linear outputs have variance 1 (within 0.1).",
               lambda w, b, fan_in, fan_out, std, g: nn_init.orthogonal_(w, generator=g)),
]}
NAMES = tuple(SCHEMES)


def initial_layer(scheme: str, fan_in: int, fan_out: int, std: float, gain: float,
                  generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """(weight [out, in], bias [out]) in the default dtype (float32; the gradient checks use float64)."""
    weight = torch.empty(fan_out, fan_in)
    bias = torch.zeros(fan_out)
    SCHEMES[scheme].draw(weight, bias, fan_in, fan_out, std, generator)
    if gain != 1 and scheme != "lsuv":  # lsuv applies the gain after its rescaling
        weight.mul_(gain)
    return weight, bias
