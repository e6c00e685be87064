"""Per-layer statistics and fixed-bin histograms, computed in torch at probe steps only.

Definitions follow DESIGN.md ("Per-layer statistics"). Everything for a stack is reduced on the
device into a few small tensors and crosses to numpy once per probe step; there is no `.item()` and
no per-unit Python here.
"""

from __future__ import annotations

import math

import torch

from engine import activations
from engine.nets import Stack

STATS = (
    "preact_mean", "preact_std", "act_mean", "act_std", "saturated_frac", "dead_frac",
    "grad_preact_rms", "weight_grad_rms", "weight_rms", "update_ratio",
)
STAT_INDEX = {name: i for i, name in enumerate(STATS)}
HIST_KINDS = ("act", "preact", "grad")
VALUE_BINS = 32
GRAD_BINS = 28  # half a decade each over GRAD_RANGE
GRAD_RANGE = (-12.0, 2.0)


def _rms(x: torch.Tensor) -> torch.Tensor:
    return x.square().mean(dim=tuple(range(1, x.dim()))).sqrt()


def _bin_counts(values: torch.Tensor, lo: torch.Tensor, hi: torch.Tensor, bins: int) -> torch.Tensor:
    """Counts [K, bins] of values [K, ...] in [lo, hi] per run; overflow lands in the edge bins."""
    k = values.shape[0]
    flat = values.reshape(k, -1)
    position = (flat - lo.view(k, 1)) * (bins / (hi - lo).view(k, 1))
    index = torch.nan_to_num(position, nan=0.0, posinf=bins - 1, neginf=0.0).clamp_(0, bins - 1).long()
    index += torch.arange(k).view(k, 1) * bins
    return torch.bincount(index.view(-1), minlength=k * bins).view(k, bins)


def grad_counts(grad: torch.Tensor) -> torch.Tensor:
    """Counts [K, GRAD_BINS + 1] of log10|dL/dz| on GRAD_RANGE; the last slot counts exact zeros."""
    k = grad.shape[0]
    flat = grad.reshape(k, -1)
    lo, hi = GRAD_RANGE
    magnitude = torch.log10(flat.abs())
    position = (magnitude - lo) * (GRAD_BINS / (hi - lo))
    index = torch.nan_to_num(position, nan=0.0, posinf=GRAD_BINS - 1, neginf=0.0).clamp_(0, GRAD_BINS - 1).long()
    index = torch.where(flat == 0, GRAD_BINS, index)
    index += torch.arange(k).view(k, 1) * (GRAD_BINS + 1)
    return torch.bincount(index.view(-1), minlength=k * (GRAD_BINS + 1)).view(k, GRAD_BINS + 1)


def value_range(values: torch.Tensor, fixed: list[tuple[float, float] | None]) -> torch.Tensor:
    """Histogram range [K, 2] from the first probe step: the observed span padded by half on each side
    (not below 0 for outputs that are never negative), or the function's own range where it is bounded."""
    k = values.shape[0]
    flat = torch.nan_to_num(values.detach().reshape(k, -1), nan=0.0, posinf=1e6, neginf=-1e6)
    lo, hi = flat.amin(dim=1), flat.amax(dim=1)
    span = torch.where(hi - lo > 1e-6, hi - lo, torch.ones_like(hi))
    new_lo = torch.where(lo < 0, lo - span / 2, (lo - span / 2).clamp(min=0))
    new_hi = hi + span / 2
    result = torch.stack([new_lo, new_hi], dim=1)
    for run, bounds in enumerate(fixed):
        if bounds is not None:
            result[run] = torch.tensor(bounds)
    return result


class StackProbe:
    """Probe state for one stack: the histogram ranges (fixed at the first probe) and the weights
    before the update (for update_ratio)."""

    def __init__(self, stack: Stack):
        self.stack = stack
        self.act_range: list[torch.Tensor] = []  # per layer [K, 2]
        self.preact_range: list[torch.Tensor] = []
        self.previous_weights: list[torch.Tensor] = []
        runs = stack.runs
        self.fixed_act = [activations.SPECS[r.activation].fixed_range for r in runs]
        self.thresholds = torch.tensor(
            [activations.saturation_threshold(r.activation, r.leak) for r in runs]
        ).view(-1, 1, 1)

    def measure(self) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """After backward, before the update: stats [K, L+1, S] (update_ratio NaN until `after_update`)
        and histogram counts per kind [K, L, bins]."""
        stack, rec = self.stack, self.stack.recorder
        k, depth = stack.k, stack.depth
        first = not self.act_range
        rows, hist_act, hist_pre, hist_grad = [], [], [], []
        with torch.no_grad():
            for layer in range(depth):
                s, a = rec.s[layer].detach(), rec.a[layer].detach()
                grad = rec.grad_z.get(layer)
                pre_std, pre_mean = torch.std_mean(s, dim=(1, 2), correction=0)
                act_std, act_mean = torch.std_mean(a, dim=(1, 2), correction=0)
                slope = self._slope(s, a)
                saturated = (slope.abs() < self.thresholds).float().mean(dim=(1, 2))
                dead = (slope == 0).all(dim=1).float().mean(dim=1)
                grad_rms = _rms(grad) if grad is not None else torch.full((k,), math.nan)
                rows.append(torch.stack([pre_mean, pre_std, act_mean, act_std, saturated, dead, grad_rms], dim=1))
                if first:
                    self.act_range.append(value_range(a, self.fixed_act))
                    self.preact_range.append(value_range(s, [None] * k))
                ar, pr = self.act_range[layer], self.preact_range[layer]
                hist_act.append(_bin_counts(a, ar[:, 0], ar[:, 1], VALUE_BINS))
                hist_pre.append(_bin_counts(s, pr[:, 0], pr[:, 1], VALUE_BINS))
                if grad is not None:
                    hist_grad.append(grad_counts(grad))
            out_grad = rec.grad_z.get(depth)
            nan = torch.full((k,), math.nan)
            out_rms = _rms(out_grad) if out_grad is not None else nan
            rows.append(torch.stack([nan] * 6 + [out_rms], dim=1))
            activation_stats = torch.stack(rows, dim=1)  # [K, L+1, 7]
            weight_grad = torch.stack([_rms(w.grad) if w.grad is not None else nan for w in stack.weights], dim=1)
            weight_rms = torch.stack([_rms(w) for w in stack.weights], dim=1)
            update = torch.full_like(weight_rms, math.nan)
            stats = torch.cat([activation_stats, torch.stack([weight_grad, weight_rms, update], dim=2)], dim=2)
            self.previous_weights = [w.detach().clone() for w in stack.weights]
        hists = {
            "act": _stack_or_empty(hist_act, k, VALUE_BINS),
            "preact": _stack_or_empty(hist_pre, k, VALUE_BINS),
            "grad": _stack_or_empty(hist_grad, k, GRAD_BINS + 1),
        }
        return stats, hists

    def after_update(self, stats: torch.Tensor) -> None:
        """Fill update_ratio = ||W_new - W_old|| / ||W_old|| once the optimizer has stepped."""
        with torch.no_grad():
            ratios = []
            for old, new in zip(self.previous_weights, self.stack.weights):
                change = torch.linalg.vector_norm(new - old, dim=(1, 2))
                ratios.append(change / torch.linalg.vector_norm(old, dim=(1, 2)))
            stats[:, :, STAT_INDEX["update_ratio"]] = torch.stack(ratios, dim=1)
        self.previous_weights = []

    def _slope(self, s: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        stack = self.stack
        if stack.uniform_act:
            name, leak = stack.acts[0]
            return activations.slope(name, s, a, leak)
        return torch.stack([activations.slope(name, s[k], a[k], leak) for k, (name, leak) in enumerate(stack.acts)])

    def ranges(self) -> dict[str, torch.Tensor]:
        """Per kind [K, L, 2] bin-range edges, for the hists table."""
        k, depth = self.stack.k, self.stack.depth
        grad = torch.tensor(GRAD_RANGE).expand(k, depth, 2)
        if not self.act_range:
            empty = torch.zeros(k, depth, 2)
            return {"act": empty, "preact": empty, "grad": grad}
        return {
            "act": torch.stack(self.act_range, dim=1),
            "preact": torch.stack(self.preact_range, dim=1),
            "grad": grad,
        }


def _stack_or_empty(parts: list[torch.Tensor], k: int, bins: int) -> torch.Tensor:
    if not parts:
        return torch.zeros(k, 0, bins, dtype=torch.int64)
    return torch.stack(parts, dim=1)


def per_run_grad_norm(stack: Stack) -> torch.Tensor:
    """Global gradient norm of each run [K], over all its parameters."""
    with torch.no_grad():
        total = torch.zeros(stack.k)
        for param in stack.parameters():
            if param.grad is not None:
                total += param.grad.square().sum(dim=tuple(range(1, param.dim())))
        return total.sqrt()
