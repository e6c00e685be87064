"""The registry of activations: each is defined once here, with all its traits, and everything else reads it:
the config's allowed values (engine/vocabulary/config.py), the probes, the findings and the Guide.

Per activation: the function, its slope f'(s) (for flat tails, dead units and the mean slope), which of its
tails are flat and which statistic counts them, its histogram range where the output is bounded, a one-line
description, and, for the fast path (engine/nets/fast_path.py), the function and autograd's derivative of it
written into a given tensor: the same ATen kernels as `forward` and as autograd, so the same bits.

Flat tails follow ARCHITECTURE.md ("What is measured"): an entry lies in a flat tail where |f'(s)| is
below 5% of the function's maximum slope (`flat_slope`) and s lies beyond the tail's edge, the outermost
point where |f'(s)| still reaches 5% (`tail_edges`). Beyond the edge the slope stays flat, so a dip in the
middle of the curve, where the slope of gelu or swish crosses zero, is no tail. The maximum and the edges
are found once, numerically, on one grid, so every activation follows one rule. The squashing functions
(`SATURATING`: both tails flat) count their tails as `saturated_frac`; the one-sided, ReLU-like ones
(`ONE_SIDED`: the negative tail flat) count theirs as `inactive_frac`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

SATURATION_THRESHOLD = 0.05  # a slope below this share of the function's maximum slope is flat
GRID = (-30.0, 30.0, 600_001)  # where slopes are sampled, once, for the maximum and the tail edges
# Which tails are flat, and which statistic counts an entry there (engine/training/probes.py).
BOTH_TAILS, NEGATIVE_TAIL, NO_TAIL = "both", "negative", "none"
SELU_ALPHA = 1.6732632423543772
SELU_SCALE = 1.0507009873554805


@dataclass(frozen=True)
class ActivationSpec:
    name: str
    description: str  # one line, for the Guide and the sidebar's help
    # BOTH_TAILS: squashing, flat at both ends, counted as saturated_frac (where the gradient stops);
    # NEGATIVE_TAIL: one-sided, flat for negative inputs, counted as inactive_frac; NO_TAIL: neither
    tails: str
    forward: Callable[[torch.Tensor, float], torch.Tensor]
    # slope(s, a, leak) -> f'(s); gets the output `a` too because some slopes are cheapest from it
    slope: Callable[[torch.Tensor, torch.Tensor, float], torch.Tensor]
    fixed_range: tuple[float, float] | None  # histogram range where the output is bounded
    # forward_into(s, out, leak): `forward` written into `out` (the same ATen kernel, so the same bits)
    forward_into: Callable[[torch.Tensor, torch.Tensor, float], object]
    # backward_into(grad, s, a, leak, out): dL/ds into `out`, by the very ATen kernel autograd calls for
    # `forward` (derivatives.yaml), so the same bits
    backward_into: Callable[[torch.Tensor, torch.Tensor, torch.Tensor, float, torch.Tensor], object]

    def flat_slope(self, leak: float = 0.01) -> float:
        """Below this |f'(s)| the slope is flat: SATURATION_THRESHOLD of the largest slope."""
        return SATURATION_THRESHOLD * max_slope(self.name, leak)


def _gelu_slope(s: torch.Tensor, a: torch.Tensor, leak: float) -> torch.Tensor:
    cdf = 0.5 * (1 + torch.erf(s / math.sqrt(2)))
    pdf = torch.exp(-0.5 * s * s) / math.sqrt(2 * math.pi)
    return cdf + s * pdf


def _swish_slope(s: torch.Tensor, a: torch.Tensor, leak: float) -> torch.Tensor:
    sig = torch.sigmoid(s)
    return sig * (1 + s * (1 - sig))


_NN = torch._C._nn
_ATEN = torch.ops.aten

SPECS: dict[str, ActivationSpec] = {spec.name: spec for spec in [
    ActivationSpec(
        "sigmoid",
        description="Squashes to (0, 1); its slope is at most 0.25 and vanishes in both tails, so deep sigmoid "
                    "nets lose their gradient.",
        tails=BOTH_TAILS, fixed_range=(0.0, 1.0),
        forward=lambda s, leak: torch.sigmoid(s),
        slope=lambda s, a, leak: a * (1 - a),
        forward_into=lambda s, out, leak: torch.sigmoid(s, out=out),
        backward_into=lambda g, s, a, leak, out: _ATEN.sigmoid_backward.grad_input(g, a, grad_input=out),
    ),
    ActivationSpec(
        "tanh",
        description="Squashes to (-1, 1), centred on 0; slope at most 1, flat in both tails when inputs grow.",
        tails=BOTH_TAILS, fixed_range=(-1.0, 1.0),
        forward=lambda s, leak: torch.tanh(s),
        slope=lambda s, a, leak: 1 - a * a,
        forward_into=lambda s, out, leak: torch.tanh(s, out=out),
        backward_into=lambda g, s, a, leak, out: _ATEN.tanh_backward.grad_input(g, a, grad_input=out),
    ),
    ActivationSpec(
        "relu",
        description="max(0, s): slope 1 for positive inputs, 0 for negative ones; a unit that only ever sees "
                    "negative inputs is dead and never learns again.",
        tails=NEGATIVE_TAIL, fixed_range=None,
        forward=lambda s, leak: torch.relu(s),
        slope=lambda s, a, leak: (s > 0).to(s.dtype),
        forward_into=lambda s, out, leak: torch.clamp_min(s, 0, out=out),  # what aten::relu computes
        backward_into=lambda g, s, a, leak, out: _ATEN.threshold_backward.grad_input(g, a, 0, grad_input=out),
    ),
    ActivationSpec(
        "leaky_relu",
        description="Like relu, with a small slope (`leak`) for negative inputs, so no unit can die (unless "
                    "leak is 0).",
        tails=NEGATIVE_TAIL, fixed_range=None,
        forward=lambda s, leak: F.leaky_relu(s, leak),
        slope=lambda s, a, leak: torch.where(s > 0, 1.0, leak).to(s.dtype),
        forward_into=lambda s, out, leak: _NN.leaky_relu(s, leak, out=out),
        backward_into=lambda g, s, a, leak, out: _ATEN.leaky_relu_backward.grad_input(
            g, s, leak, False, grad_input=out),
    ),
    ActivationSpec(
        "elu",
        description="Like relu above 0, a smooth curve towards -1 below it: mean activations nearer 0, and a "
                    "flat tail far below 0.",
        tails=NEGATIVE_TAIL, fixed_range=None,
        forward=lambda s, leak: F.elu(s),
        slope=lambda s, a, leak: torch.where(s > 0, 1.0, a + 1),
        forward_into=lambda s, out, leak: _NN.elu(s, 1.0, 1, 1, out=out),
        backward_into=lambda g, s, a, leak, out: _ATEN.elu_backward.grad_input(
            g, 1.0, 1, 1, False, s, grad_input=out),
    ),
    ActivationSpec(
        "selu",
        description="A scaled elu that keeps activations near mean 0 and variance 1 layer after layer, with "
                    "lecun_normal init.",
        tails=NEGATIVE_TAIL, fixed_range=None,
        forward=lambda s, leak: F.selu(s),
        slope=lambda s, a, leak: torch.where(s > 0, SELU_SCALE, a + SELU_SCALE * SELU_ALPHA),
        forward_into=lambda s, out, leak: _NN.elu(s, SELU_ALPHA, SELU_SCALE, 1, out=out),  # aten::selu is this
        backward_into=lambda g, s, a, leak, out: _ATEN.elu_backward.grad_input(
            g, SELU_ALPHA, SELU_SCALE, 1, False, s, grad_input=out),
    ),
    ActivationSpec(
        "gelu",
        description="s times the normal CDF of s: a smooth relu (used by transformers), slightly negative just "
                    "below 0.",
        tails=NEGATIVE_TAIL, fixed_range=None,
        forward=lambda s, leak: F.gelu(s),
        slope=_gelu_slope,
        forward_into=lambda s, out, leak: _NN.gelu(s, approximate="none", out=out),
        backward_into=lambda g, s, a, leak, out: _ATEN.gelu_backward.grad_input(
            g, s, approximate="none", grad_input=out),
    ),
    ActivationSpec(
        "swish",
        description="s times sigmoid(s) (also called SiLU): a smooth relu that dips below 0 before rising.",
        tails=NEGATIVE_TAIL, fixed_range=None,
        forward=lambda s, leak: F.silu(s),
        slope=_swish_slope,
        forward_into=lambda s, out, leak: _NN.silu(s, out=out),
        backward_into=lambda g, s, a, leak, out: _ATEN.silu_backward.grad_input(g, s, grad_input=out),
    ),
    ActivationSpec(
        "softplus",
        description="log(1 + e^s): a smooth relu, positive everywhere, with a flat tail for negative inputs.",
        tails=NEGATIVE_TAIL, fixed_range=None,
        forward=lambda s, leak: F.softplus(s),
        slope=lambda s, a, leak: torch.sigmoid(s),
        forward_into=lambda s, out, leak: _NN.softplus(s, 1, 20, out=out),
        backward_into=lambda g, s, a, leak, out: _ATEN.softplus_backward.grad_input(g, s, 1, 20, grad_input=out),
    ),
    ActivationSpec(
        "linear",
        description="No nonlinearity: however deep, the net computes only a linear function of its input.",
        tails=NO_TAIL, fixed_range=None,
        forward=lambda s, leak: s,
        slope=lambda s, a, leak: torch.ones_like(s),
        forward_into=lambda s, out, leak: out.copy_(s),
        backward_into=lambda g, s, a, leak, out: out.copy_(g),
    ),
]}


def max_slope(name: str, leak: float = 0.01) -> float:
    """The largest |f'(s)| over a fine grid (exact for the piecewise ones, within 1e-6 otherwise)."""
    return _slope_profile(name, float(leak))[0]


def tail_edges(name: str, leak: float = 0.01) -> tuple[float, float]:
    """(lo, hi): an entry lies in a flat tail where |f'(s)| < flat_slope and s < lo (the negative tail) or
    s > hi (the positive tail). lo is the most negative grid point where |f'(s)| reaches flat_slope, hi the
    most positive one; -inf or +inf where the slope is not flat at that end of the grid (no such tail).
    Only the tails named by the activation's `tails` are counted: the other edge is infinite too."""
    _, lo, hi = _slope_profile(name, float(leak))
    tails = SPECS[name].tails
    return (lo if tails != NO_TAIL else -math.inf), (hi if tails == BOTH_TAILS else math.inf)


_CACHE: dict[tuple[str, float], tuple[float, float, float]] = {}


def _slope_profile(name: str, leak: float) -> tuple[float, float, float]:
    """The maximum |slope| and the edges of the flat tails, each found once on GRID."""
    key = (name, leak)
    if key not in _CACHE:
        spec = SPECS[name]
        grid = torch.linspace(*GRID, dtype=torch.float64)
        slopes = spec.slope(grid, spec.forward(grid, leak), leak).abs()
        largest = float(slopes.max())
        steep = (slopes >= SATURATION_THRESHOLD * largest).nonzero().view(-1)
        lo = -math.inf if bool(steep[0] == 0) else float(grid[steep[0]])
        hi = math.inf if bool(steep[-1] == len(grid) - 1) else float(grid[steep[-1]])
        _CACHE[key] = (largest, lo, hi)
    return _CACHE[key]


def apply(name: str, s: torch.Tensor, leak: float) -> torch.Tensor:
    return SPECS[name].forward(s, leak)


def slope(name: str, s: torch.Tensor, a: torch.Tensor, leak: float) -> torch.Tensor:
    return SPECS[name].slope(s, a, leak)


def saturation_threshold(name: str, leak: float) -> float:
    return SPECS[name].flat_slope(leak)


NAMES = tuple(SPECS)
SATURATING = frozenset(name for name, spec in SPECS.items() if spec.tails == BOTH_TAILS)  # have saturated_frac
ONE_SIDED = frozenset(name for name, spec in SPECS.items() if spec.tails == NEGATIVE_TAIL)  # have inactive_frac
