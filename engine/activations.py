"""The ten activations: the function, its slope f'(s) (for saturation and dead units) and its range.

`saturated` follows DESIGN.md: an entry is saturated where the slope is below 5% of the function's
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


def _gelu_slope(s: torch.Tensor, a: torch.Tensor, leak: float) -> torch.Tensor:
    cdf = 0.5 * (1 + torch.erf(s / math.sqrt(2)))
    pdf = torch.exp(-0.5 * s * s) / math.sqrt(2 * math.pi)
    return cdf + s * pdf


def _swish_slope(s: torch.Tensor, a: torch.Tensor, leak: float) -> torch.Tensor:
    sig = torch.sigmoid(s)
    return sig * (1 + s * (1 - sig))


SPECS: dict[str, ActivationSpec] = {
    spec.name: spec
    for spec in [
        ActivationSpec("sigmoid", lambda s, leak: torch.sigmoid(s), lambda s, a, leak: a * (1 - a), (0.0, 1.0)),
        ActivationSpec("tanh", lambda s, leak: torch.tanh(s), lambda s, a, leak: 1 - a * a, (-1.0, 1.0)),
        ActivationSpec("relu", lambda s, leak: torch.relu(s), lambda s, a, leak: (s > 0).to(s.dtype)),
        ActivationSpec(
            "leaky_relu",
            lambda s, leak: F.leaky_relu(s, leak),
            lambda s, a, leak: torch.where(s > 0, 1.0, leak).to(s.dtype),
        ),
        ActivationSpec("elu", lambda s, leak: F.elu(s), lambda s, a, leak: torch.where(s > 0, 1.0, a + 1)),
        ActivationSpec(
            "selu",
            lambda s, leak: F.selu(s),
            lambda s, a, leak: torch.where(s > 0, SELU_SCALE, a + SELU_SCALE * SELU_ALPHA),
        ),
        ActivationSpec("gelu", lambda s, leak: F.gelu(s), _gelu_slope),
        ActivationSpec("swish", lambda s, leak: F.silu(s), _swish_slope),
        ActivationSpec("softplus", lambda s, leak: F.softplus(s), lambda s, a, leak: torch.sigmoid(s)),
        ActivationSpec("linear", lambda s, leak: s, lambda s, a, leak: torch.ones_like(s)),
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
