"""Where an activation has a kink: a point where its slope jumps (relu and leaky_relu at 0, selu at 0).

Found once per activation from its slope in the registry (engine/nets/activations.py), so no list of kinks
is kept by hand: the slope is sampled on a fine grid, each jump larger than KINK_JUMP of the largest slope
is located by bisection. A finite difference whose +h and -h straddle a kink compares two different
linear pieces, so it disagrees with the analytic gradient whatever the code does: such entries are flagged
and left out of the verdict (CS231n's "kinks in the objective").
"""

from __future__ import annotations

from functools import lru_cache

import torch

from engine.nets import activations

GRID = (-6.0, 6.0, 120_001)  # steps of 1e-4: a smooth slope changes by far less than a jump between points
KINK_JUMP = 0.01  # a jump of the slope larger than this share of its largest value is a kink
BISECTIONS = 80


def _slope_at(name: str, leak: float, s: float) -> float:
    point = torch.tensor([s], dtype=torch.float64)
    spec = activations.SPECS[name]
    return float(spec.slope(point, spec.forward(point, leak), leak)[0])


@lru_cache(maxsize=64)
def kinks(name: str, leak: float = 0.01) -> tuple[float, ...]:
    """The points where activation `name`'s slope jumps, in increasing order (none for smooth ones)."""
    spec = activations.SPECS[name]
    grid = torch.linspace(*GRID, dtype=torch.float64)
    slopes = spec.slope(grid, spec.forward(grid, leak), leak).to(torch.float64)
    largest = float(slopes.abs().max())
    jumps = ((slopes[1:] - slopes[:-1]).abs() > KINK_JUMP * largest).nonzero().view(-1).tolist()
    found = []
    for i in jumps:
        lo, hi = float(grid[i]), float(grid[i + 1])
        left, right = _slope_at(name, leak, lo), _slope_at(name, leak, hi)
        for _ in range(BISECTIONS):
            mid = (lo + hi) / 2
            here = _slope_at(name, leak, mid)
            if abs(here - left) <= abs(here - right):
                lo = mid
            else:
                hi = mid
        found.append(hi)
    return tuple(found)


def crossed(plus: list[torch.Tensor], minus: list[torch.Tensor], points: tuple[float, ...]) -> bool:
    """Whether any activation input moved across a kink between the +h pass and the -h pass (or sat on one)."""
    for s_plus, s_minus in zip(plus, minus):
        moved = s_plus != s_minus
        for point in points:
            if bool(((s_plus - point) * (s_minus - point) <= 0)[moved].any()):
                return True
    return False
