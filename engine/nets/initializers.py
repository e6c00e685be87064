"""Initial weights for one layer of one run, from that run's own generator.

Weights are drawn in nn.Linear's [out, in] layout (so `orthogonal` and `default` match PyTorch's
own), then transposed by the caller for the batched [in, out] layout. Every scheme but `default`
starts biases at 0. `lsuv` starts orthogonal here; the data-driven rescaling lives in `lsuv.py`.
"""

from __future__ import annotations

import math

import torch
from torch.nn import init as nn_init


def initial_layer(scheme: str, fan_in: int, fan_out: int, std: float, gain: float,
                  generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """(weight [out, in], bias [out]) in the default dtype (float32; the gradient checks use float64)."""
    weight = torch.empty(fan_out, fan_in)
    bias = torch.zeros(fan_out)
    g = generator
    if scheme == "default":  # nn.Linear.reset_parameters: kaiming_uniform_(a=sqrt(5)) and U(±1/sqrt(fan_in)) bias
        bound = 1 / math.sqrt(fan_in)
        weight.uniform_(-bound, bound, generator=g)
        bias.uniform_(-bound, bound, generator=g)
    elif scheme == "standard":  # Glorot & Bengio's "standard" heuristic
        bound = 1 / math.sqrt(fan_in)
        weight.uniform_(-bound, bound, generator=g)
    elif scheme == "zeros":
        weight.zero_()
    elif scheme == "normal":
        weight.normal_(0, std, generator=g)
    elif scheme == "uniform":
        weight.uniform_(-std, std, generator=g)
    elif scheme == "xavier_uniform":
        bound = math.sqrt(6 / (fan_in + fan_out))
        weight.uniform_(-bound, bound, generator=g)
    elif scheme == "xavier_normal":
        weight.normal_(0, math.sqrt(2 / (fan_in + fan_out)), generator=g)
    elif scheme == "he_uniform":
        bound = math.sqrt(6 / fan_in)
        weight.uniform_(-bound, bound, generator=g)
    elif scheme == "he_normal":
        weight.normal_(0, math.sqrt(2 / fan_in), generator=g)
    elif scheme == "lecun_normal":
        weight.normal_(0, math.sqrt(1 / fan_in), generator=g)
    elif scheme in ("orthogonal", "lsuv"):
        nn_init.orthogonal_(weight, generator=g)
    else:
        raise ValueError(f"unknown init scheme {scheme!r}")
    if gain != 1 and scheme != "lsuv":  # lsuv applies the gain after its rescaling
        weight.mul_(gain)
    return weight, bias
