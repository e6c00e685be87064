"""The ten activations: the function, its slope f'(s) (for saturation and dead units) and its range,
and, for the trainer's hand-made backward pass (engine/nets/stack.py), the function and autograd's derivative of it
written into a given tensor: the same ATen kernels as `forward` and as autograd, so the same bits.

`saturated` follows ARCHITECTURE.md: an entry is saturated where the slope is below 5% of the function's
maximum slope. The maximum is found once, numerically, so every activation follows one rule.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

SATURATION_THRESHOLD = 0.05
SELU_ALPHA = 1.6732632423543772
SELU_SCALE = 1.0507009873554805


@dataclass(frozen=True)
class ActivationSpec:
    name: str
    forward: Callable[[torch.Tensor, float], torch.Tensor]
    # slope(s, a, leak) -> f'(s); gets the output `a` too because some slopes are cheapest from it
    slope: Callable[[torch.Tensor, torch.Tensor, float], torch.Tensor]
    fixed_range: tuple[float, float] | None = None  # histogram range where the output is bounded
    # forward_into(s, out, leak): `forward` written into `out` (the same ATen kernel, so the same bits)
    forward_into: Callable[[torch.Tensor, torch.Tensor, float], object] | None = None
    # backward_into(grad, s, a, leak, out): dL/ds into `out`, by the very ATen kernel autograd calls for
    # `forward` (derivatives.yaml), so the same bits
    backward_into: Callable[[torch.Tensor, torch.Tensor, torch.Tensor, float, torch.Tensor], object] | None = None


def _gelu_slope(s: torch.Tensor, a: torch.Tensor, leak: float) -> torch.Tensor:
    cdf = 0.5 * (1 + torch.erf(s / math.sqrt(2)))
    pdf = torch.exp(-0.5 * s * s) / math.sqrt(2 * math.pi)
    return cdf + s * pdf


def _swish_slope(s: torch.Tensor, a: torch.Tensor, leak: float) -> torch.Tensor:
    sig = torch.sigmoid(s)
    return sig * (1 + s * (1 - sig))


_NN = torch._C._nn
_ATEN = torch.ops.aten

SPECS: dict[str, ActivationSpec] = {
    spec.name: spec
    for spec in [
        ActivationSpec(
            "sigmoid", lambda s, leak: torch.sigmoid(s), lambda s, a, leak: a * (1 - a), (0.0, 1.0),
            lambda s, out, leak: torch.sigmoid(s, out=out),
            lambda g, s, a, leak, out: _ATEN.sigmoid_backward.grad_input(g, a, grad_input=out),
        ),
        ActivationSpec(
            "tanh", lambda s, leak: torch.tanh(s), lambda s, a, leak: 1 - a * a, (-1.0, 1.0),
            lambda s, out, leak: torch.tanh(s, out=out),
            lambda g, s, a, leak, out: _ATEN.tanh_backward.grad_input(g, a, grad_input=out),
        ),
        ActivationSpec(
            "relu", lambda s, leak: torch.relu(s), lambda s, a, leak: (s > 0).to(s.dtype), None,
            lambda s, out, leak: torch.clamp_min(s, 0, out=out),  # what aten::relu computes
            lambda g, s, a, leak, out: _ATEN.threshold_backward.grad_input(g, a, 0, grad_input=out),
        ),
        ActivationSpec(
            "leaky_relu",
            lambda s, leak: F.leaky_relu(s, leak),
            lambda s, a, leak: torch.where(s > 0, 1.0, leak).to(s.dtype), None,
            lambda s, out, leak: _NN.leaky_relu(s, leak, out=out),
            lambda g, s, a, leak, out: _ATEN.leaky_relu_backward.grad_input(g, s, leak, False, grad_input=out),
        ),
        ActivationSpec(
            "elu", lambda s, leak: F.elu(s), lambda s, a, leak: torch.where(s > 0, 1.0, a + 1), None,
            lambda s, out, leak: _NN.elu(s, 1.0, 1, 1, out=out),
            lambda g, s, a, leak, out: _ATEN.elu_backward.grad_input(g, 1.0, 1, 1, False, s, grad_input=out),
        ),
        ActivationSpec(
            "selu",
            lambda s, leak: F.selu(s),
            lambda s, a, leak: torch.where(s > 0, SELU_SCALE, a + SELU_SCALE * SELU_ALPHA), None,
            lambda s, out, leak: _NN.elu(s, SELU_ALPHA, SELU_SCALE, 1, out=out),  # aten::selu is this elu
            lambda g, s, a, leak, out: _ATEN.elu_backward.grad_input(
                g, SELU_ALPHA, SELU_SCALE, 1, False, s, grad_input=out),
        ),
        ActivationSpec(
            "gelu", lambda s, leak: F.gelu(s), _gelu_slope, None,
            lambda s, out, leak: _NN.gelu(s, approximate="none", out=out),
            lambda g, s, a, leak, out: _ATEN.gelu_backward.grad_input(g, s, approximate="none", grad_input=out),
        ),
        ActivationSpec(
            "swish", lambda s, leak: F.silu(s), _swish_slope, None,
            lambda s, out, leak: _NN.silu(s, out=out),
            lambda g, s, a, leak, out: _ATEN.silu_backward.grad_input(g, s, grad_input=out),
        ),
        ActivationSpec(
            "softplus", lambda s, leak: F.softplus(s), lambda s, a, leak: torch.sigmoid(s), None,
            lambda s, out, leak: _NN.softplus(s, 1, 20, out=out),
            lambda g, s, a, leak, out: _ATEN.softplus_backward.grad_input(g, s, 1, 20, grad_input=out),
        ),
        ActivationSpec(
            "linear", lambda s, leak: s, lambda s, a, leak: torch.ones_like(s), None,
            lambda s, out, leak: out.copy_(s),
            lambda g, s, a, leak, out: out.copy_(g),
        ),
    ]
}


def max_slope(name: str, leak: float = 0.01) -> float:
    """The largest |f'(s)| over a fine grid (exact for the piecewise ones, within 1e-6 otherwise)."""
    return _max_slope_cached(name, float(leak))


_CACHE: dict[tuple[str, float], float] = {}


def _max_slope_cached(name: str, leak: float) -> float:
    key = (name, leak)
    if key not in _CACHE:
        spec = SPECS[name]
        grid = torch.linspace(-30, 30, 600_001, dtype=torch.float64)
        slopes = spec.slope(grid, spec.forward(grid, leak), leak)
        _CACHE[key] = float(slopes.abs().max())
    return _CACHE[key]


def apply(name: str, s: torch.Tensor, leak: float) -> torch.Tensor:
    return SPECS[name].forward(s, leak)


def slope(name: str, s: torch.Tensor, a: torch.Tensor, leak: float) -> torch.Tensor:
    return SPECS[name].slope(s, a, leak)


def saturation_threshold(name: str, leak: float) -> float:
    return SATURATION_THRESHOLD * max_slope(name, leak)
