"""Per-layer statistics and fixed-bin histograms, computed in torch at probe steps only.

Definitions follow ARCHITECTURE.md ("What is measured"). A probe step measures two things of the net as it
is before that step's update:

- what the net does to its inputs, on the probe set: a fixed set of training points, the first
  PROBE_POINTS (256) of the shuffled training split (fewer for very wide or deep stacks, `probe_points`),
  the same points at every probe step. One forward pass
  over them in training mode without side effects (`Stack.forward(x, mode="init")`: batch norm uses the
  probe set's own statistics and updates no running statistic, no dropout mask is drawn), so the training
  numbers are exactly those of a run that is never probed. Activation statistics, flat tails, dead units,
  the mean slope and the act/preact histograms come from it. Why 256 points: a unit that is active on 2% of
  the data is seen active with probability 99.4% (on 1%: 92%); on ten healthy 3x32 ReLU nets trained at
  batch size 1 on the spiral, the dead fractions on 256 points were within one unit (0.031) of those on all
  700 training points, where one point judged about half the units dead. 512 points were exact there but
  made a probe of an 8x64 net about 1.6x dearer (bench/probe_overhead.py), and a mean over 256 x width
  entries is already close to the whole split's.
- what the update used, on the training step's minibatch: dL/dz (grad_preact_rms, backward_gain, the grad
  histograms), the weight gradients and the update ratio; weight_rms and zero_frac read the weights.

Everything for a stack is reduced on the device into a few small tensors and crosses to numpy once per probe
step; there is no `.item()` and no per-unit Python here.
"""

from __future__ import annotations

import math

import torch

from engine.nets import activations
from engine.nets.stack import Stack

PROBE_POINTS = 256  # the probe set: the training split's first points (it is shuffled), at most this many
PROBE_BYTES = 64 * 2**20  # fewer points for very wide or deep stacks, so that the probe pass stays this small
PROBE_COPIES = 4  # floats held per unit and probe point: s and a as recorded, and their stacked copy
# Measured on the probe set, in this order (the columns `_activation_group` fills), then on the minibatch.
PROBE_SET_STATS = ("preact_mean", "preact_std", "act_mean", "act_std", "saturated_frac", "inactive_frac",
                   "dead_frac", "slope_mean")
MINIBATCH_STATS = ("grad_preact_rms", "backward_gain", "weight_grad_rms", "weight_rms", "zero_frac",
                   "update_ratio")
STATS = PROBE_SET_STATS + MINIBATCH_STATS
STAT_INDEX = {name: i for i, name in enumerate(STATS)}
HIST_KINDS = ("act", "preact", "grad")
VALUE_BINS = 32
GRAD_BINS = 28  # half a decade each over GRAD_RANGE
GRAD_RANGE = (-12.0, 2.0)


def probe_points(k: int, widths: list[int], train_points: int) -> int:
    """How many probe-set points a stack of k runs with these hidden widths measures."""
    per_point = 4 * PROBE_COPIES * k * max(1, sum(widths))
    return max(1, min(PROBE_POINTS, train_points, PROBE_BYTES // per_point))


class Binning:
    """Fixed bins for N rows, each with its own [lo, hi]: precomputed once, since the edges never change. Its
    two work buffers are made at the first call and reused (see StackProbe.scratch)."""

    def __init__(self, ranges: torch.Tensor, bins: int):
        n = ranges.shape[0]
        self.n, self.bins = n, bins
        self.lo = ranges[:, :1].clone()
        self.scale = bins / (ranges[:, 1:] - ranges[:, :1])
        self.offsets = torch.arange(n, dtype=torch.int32).view(n, 1) * bins
        self.position: torch.Tensor | None = None
        self.index: torch.Tensor | None = None

    def counts(self, values: torch.Tensor) -> torch.Tensor:
        """Counts [N, bins] of values [N, M]; overflow (and NaN, at the low edge) lands in the edge bins."""
        if self.position is None or self.position.shape != values.shape:
            self.position = torch.empty_like(values)
            self.index = torch.empty(values.shape, dtype=torch.int32)  # converts several times faster than int64
        position = torch.sub(values, self.lo, out=self.position).mul_(self.scale)
        position = torch.nan_to_num_(position, nan=0.0, posinf=self.bins - 1, neginf=0.0).clamp_(0, self.bins - 1)
        index = self.index.copy_(position).add_(self.offsets)  # the copy truncates, as int() does
        return torch.bincount(index.view(-1), minlength=self.n * self.bins).view(self.n, self.bins)


def grad_counts(grad: torch.Tensor) -> torch.Tensor:
    """Counts [N, GRAD_BINS + 1] of log10|dL/dz| per row on GRAD_RANGE; the last slot counts exact zeros."""
    n = grad.shape[0]
    lo, hi = GRAD_RANGE
    position = torch.log10(grad.abs()).sub_(lo).mul_(GRAD_BINS / (hi - lo))
    index = torch.nan_to_num_(position, nan=0.0, posinf=GRAD_BINS - 1, neginf=0.0).clamp_(0, GRAD_BINS - 1).long()
    index = torch.where(grad == 0, GRAD_BINS, index)
    offsets = _ROW_OFFSETS.get(n)
    if offsets is None:
        offsets = _ROW_OFFSETS[n] = torch.arange(n).view(n, 1) * (GRAD_BINS + 1)
    index += offsets
    return torch.bincount(index.view(-1), minlength=n * (GRAD_BINS + 1)).view(n, GRAD_BINS + 1)


_ROW_OFFSETS: dict[int, torch.Tensor] = {}  # first bin of each of n rows, for grad_counts


def value_range(values: torch.Tensor, fixed: list[tuple[float, float] | None]) -> torch.Tensor:
    """Histogram range [N, 2] per row of values [N, M], from the first probe step: the observed span
    padded by half on each side (not below 0 for outputs that are never negative), or the function's
    own range where it is bounded."""
    flat = torch.nan_to_num(values.detach(), nan=0.0, posinf=1e6, neginf=-1e6)
    lo, hi = flat.amin(dim=1), flat.amax(dim=1)
    span = torch.where(hi - lo > 1e-6, hi - lo, torch.ones_like(hi))
    new_lo = torch.where(lo < 0, lo - span / 2, (lo - span / 2).clamp(min=0))
    result = torch.stack([new_lo, hi + span / 2], dim=1)
    for row, bounds in enumerate(fixed):
        if bounds is not None:
            result[row] = torch.tensor(bounds)
    return result


class StackProbe:
    """Probes of one stack. Hidden layers of equal width are measured together as one [G, K, B, W]
    tensor, so the cost per probe step is a few dozen torch calls whatever the depth. Weight stats
    come from the stack's flat parameter and gradient buffers, summed per run and layer with one `index_add_`.
    `probe_x` is the probe set (the module docstring); the stack measures its first `probe_points` rows."""

    def __init__(self, stack: Stack, probe_x: torch.Tensor):
        self.stack = stack
        k, depth = stack.k, stack.depth
        widths = stack.sizes[1:-1]
        self.probe_x = probe_x[: probe_points(k, widths, len(probe_x))]
        self.width_groups = [[i for i in range(depth) if widths[i] == w] for w in dict.fromkeys(widths)]
        # Where each group's rows go: a plain slice when one group holds every layer (the usual case).
        self.group_index: list[slice | torch.Tensor] = [
            slice(0, depth) if len(layers) == depth else torch.tensor(layers) for layers in self.width_groups
        ]
        self.value_binning: list[Binning] = []  # per group, act rows then preact rows, from the first probe
        self.fixed_act = [activations.SPECS[r.activation].fixed_range for r in stack.runs]
        # The flat tails of each run's activation (engine/nets/activations.py): |slope| below `flat` and s below
        # lo or above hi. One number each where the runs agree (comparing with a scalar is faster than with a
        # broadcast tensor, and a side without a tail is skipped), else one per run, shaped [1, K, 1, 1].
        tails = [(activations.saturation_threshold(r.activation, r.leak), *activations.tail_edges(r.activation,
                                                                                                 r.leak))
                 for r in stack.runs]
        per_run = torch.tensor(tails).T.reshape(3, 1, k, 1, 1)
        self.flat, self.tail_lo, self.tail_hi = tails[0] if len(set(tails)) == 1 else per_run
        self.saturating = torch.tensor([r.activation in activations.SATURATING for r in stack.runs])
        self.one_sided = torch.tensor([r.activation in activations.ONE_SIDED for r in stack.runs])
        self.act_range: torch.Tensor | None = None  # [L, K, 2], fixed at the first probe
        # Per group, two work buffers of the probe pass's size, made once: a fresh tensor of a few MB at every
        # probe step can cost more in page faults than the arithmetic done in it.
        self.scratch: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}
        self.preact_range: torch.Tensor | None = None
        # The weights are the prefix flat[:n_weights] of the stack's buffer, layer after layer, each [K, in, out].
        # Row of every entry in a [2, K, L+1] table of sums (row = run * (L+1) + layer; + K * (L+1) for the
        # second of two stacked copies; the gaps between tensors go to one spare row): one index_add_ sums
        # every run's and layer's squares, each in its own entries' order, as a per-run [K, P] layout did.
        layers = depth + 1
        sizes = [w[0].numel() for w in stack.weights]
        self.n_rows = 2 * k * layers
        rows = torch.full((stack.n_weights,), self.n_rows)
        for layer, (offset, size) in enumerate(zip(stack.offsets, sizes)):
            rows[offset : offset + k * size] = torch.arange(k).repeat_interleave(size) * layers + layer
        self.weight_rows = torch.cat([rows, torch.where(rows < self.n_rows, rows + k * layers, rows)])
        self.weight_count = torch.tensor(sizes, dtype=torch.float32)
        self.previous_weights: torch.Tensor | None = None
        # Gradients of biases, gains and shifts as [K, n] views of flat_grad (grad_norm sums them per run).
        self.other_grads = [g.view(k, -1) for g in stack.grads[layers:]]

    def measure(self) -> tuple[torch.Tensor, dict[str, torch.Tensor], torch.Tensor]:
        """After backward (with the recorder keeping dL/dz), before the update: stats [K, L+1, S] (update_ratio
        NaN until `after_update`), histogram counts per kind [K, L, bins], and each run's global gradient
        norm [K]. The minibatch's gradients are read first; then one forward pass over the probe set."""
        stack = self.stack
        k, depth = stack.k, stack.depth
        stats = torch.full((k, depth + 1, len(STATS)), math.nan)
        hists = {
            "act": torch.zeros(k, depth, VALUE_BINS, dtype=torch.int64),
            "preact": torch.zeros(k, depth, VALUE_BINS, dtype=torch.int64),
            "grad": torch.zeros(k, depth, GRAD_BINS + 1, dtype=torch.int64),
        }
        with torch.no_grad():
            self._gradient_stats(stats, hists)
            grad_norm = self._weight_stats(stats)
            stack.recorder.start(values=True, grads=False)
            stack.forward(self.probe_x, mode="init")
            first = self.act_range is None
            if first:
                self.act_range = torch.zeros(depth, k, 2)
                self.preact_range = torch.zeros(depth, k, 2)
            for group, layers in enumerate(self.width_groups):
                self._activation_group(group, layers, stats, hists, first)
            stack.recorder.stop()
        return stats, hists, grad_norm

    def _gradient_stats(self, stats: torch.Tensor, hists: dict) -> None:
        """grad_preact_rms (every layer), backward_gain and the grad histograms, from the minibatch's dL/dz."""
        grad_z, depth = self.stack.recorder.grad_z, self.stack.depth
        rms = STAT_INDEX["grad_preact_rms"]
        for group, layers in enumerate(self.width_groups):
            if any(i not in grad_z for i in layers):
                continue
            g, k = len(layers), self.stack.k
            grad = torch.stack([grad_z[i] for i in layers])  # [G, K, B, W]
            index = self.group_index[group]
            stats[:, index, rms] = grad.square().mean(dim=(2, 3)).sqrt().transpose(0, 1)
            hists["grad"][:, index] = grad_counts(grad.reshape(g * k, -1)).view(g, k, -1).transpose(0, 1)
        if depth in grad_z:
            stats[:, depth, rms] = _rms(grad_z[depth])
        # Backprop as a product: each hidden layer's factor, so that h1's rms is the top's times their product.
        stats[:, :depth, STAT_INDEX["backward_gain"]] = stats[:, :depth, rms] / stats[:, 1:, rms]

    def _activation_group(self, group: int, layers: list[int], stats: torch.Tensor, hists: dict,
                          first: bool) -> None:
        rec, k = self.stack.recorder, self.stack.k
        g = len(layers)
        # a and s of every layer of the group in one tensor [2G, K, P, W]: one reduction serves both.
        shape = (2 * g, *rec.s[layers[0]].shape)
        if group not in self.scratch or self.scratch[group][0].shape != shape:
            self.scratch[group] = (torch.empty(shape), torch.empty(shape))
        values, work = self.scratch[group]
        torch.stack([rec.a[i] for i in layers] + [rec.s[i] for i in layers], out=values)
        s = values[g:]
        means, stds = _mean_std(values, work)
        act_std, pre_std, act_mean, pre_mean = stds[:g], stds[g:], means[:g], means[g:]
        slope = self._slope(s, values[:g])
        steepness = slope.abs()
        # Fractions as the mean of a 0/1 float tensor (sum, then divide) computes them: the counts are exact.
        points, width = slope.shape[2], slope.shape[3]
        in_tail = self._beyond_edges(s).logical_and_(steepness < self.flat)
        tail = in_tail.count_nonzero(dim=(2, 3)).to(torch.float32).div_(points * width)
        saturated = torch.where(self.saturating, tail, math.nan)
        inactive = torch.where(self.one_sided, tail, math.nan)
        # A unit is dead if its slope is exactly 0 at every point (amax: NaN is no 0; faster than all()).
        dead = (steepness.amax(dim=2) == 0).sum(dim=2, dtype=torch.float32).div_(width)
        columns = [pre_mean, pre_std, act_mean, act_std, saturated, inactive, dead, slope.mean(dim=(2, 3))]
        index = self.group_index[group]
        stats[:, index, : len(PROBE_SET_STATS)] = torch.stack(columns, dim=-1).transpose(0, 1)
        rows = values.view(2 * g * k, -1)
        if first:
            act_range = value_range(rows[: g * k], self.fixed_act * g)
            pre_range = value_range(rows[g * k :], [None] * (g * k))
            self.act_range[index] = act_range.view(g, k, 2)
            self.preact_range[index] = pre_range.view(g, k, 2)
            self.value_binning.append(Binning(torch.cat([act_range, pre_range]), VALUE_BINS))
        counts = self.value_binning[group].counts(rows).view(2, g, k, VALUE_BINS).transpose(1, 2)
        hists["act"][:, index] = counts[0]
        hists["preact"][:, index] = counts[1]

    def _weight_stats(self, stats: torch.Tensor) -> torch.Tensor:
        """weight_rms, weight_grad_rms and zero_frac per layer into stats; returns each run's gradient norm."""
        stack, k, layers = self.stack, self.stack.k, self.stack.depth + 1
        n_w = stack.n_weights
        flat = stack.flat[:n_w]
        squares = torch.stack([flat, stack.flat_grad[:n_w]]).square()
        sums = torch.zeros(self.n_rows + 1).index_add_(0, self.weight_rows, squares.view(-1))
        sums = sums[:-1].view(2, k, layers)
        rms = (sums / self.weight_count).sqrt()
        stats[:, :, STAT_INDEX["weight_rms"]] = rms[0]
        stats[:, :, STAT_INDEX["weight_grad_rms"]] = rms[1]
        # The first copy's rows alone count the exact zeros (the gaps between tensors go to the spare row).
        zeros = torch.zeros(self.n_rows + 1).index_add_(0, self.weight_rows[:n_w], (flat == 0).to(flat.dtype))
        stats[:, :, STAT_INDEX["zero_frac"]] = zeros[: k * layers].view(k, layers) / self.weight_count
        self.previous_weights = flat.clone()
        other_squares = torch.cat(self.other_grads, dim=1).square().sum(dim=1)
        return (sums[1].sum(dim=1) + other_squares).sqrt()

    def after_update(self, stats: torch.Tensor) -> None:
        """Fill update_ratio = ||W_new - W_old|| / ||W_old|| once the optimizer has stepped."""
        stack, k = self.stack, self.stack.k
        with torch.no_grad():
            flat = stack.flat[: stack.n_weights]
            both = torch.stack([flat - self.previous_weights, self.previous_weights]).square()
            sums = torch.zeros(self.n_rows + 1).index_add_(0, self.weight_rows, both.view(-1))
            change, size = sums[:-1].view(2, k, stack.depth + 1).sqrt()
            # Undefined (NaN, left out of the tables) for weights that are exactly zero, as init=zeros makes them.
            stats[:, :, STAT_INDEX["update_ratio"]] = torch.where(size > 0, change / size, math.nan)
        self.previous_weights = None

    def _beyond_edges(self, s: torch.Tensor) -> torch.Tensor:
        """Where s lies beyond a flat tail's edge (a side without a tail, edge +-inf, is not compared)."""
        lo, hi = self.tail_lo, self.tail_hi
        if isinstance(lo, float) and lo == -math.inf:
            return s > hi
        if isinstance(hi, float) and hi == math.inf:
            return s < lo
        return (s < lo).logical_or_(s > hi)

    def _slope(self, s: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        stack = self.stack
        if stack.uniform_act:
            name, leak = stack.acts[0]
            return activations.slope(name, s, a, leak)
        return torch.stack([activations.slope(name, s[:, k], a[:, k], leak)
                            for k, (name, leak) in enumerate(stack.acts)], dim=1)

    def ranges(self) -> dict[str, torch.Tensor]:
        """Per kind [K, L, 2] bin-range edges, for the hists table."""
        k, depth = self.stack.k, self.stack.depth
        grad = torch.tensor(GRAD_RANGE).expand(k, depth, 2)
        if self.act_range is None:
            empty = torch.zeros(k, depth, 2)
            return {"act": empty, "preact": empty, "grad": grad}
        return {"act": self.act_range.transpose(0, 1), "preact": self.preact_range.transpose(0, 1), "grad": grad}


def _mean_std(values: torch.Tensor, work: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and population std over the last two dims, in two passes (the deviations go to `work`): as exact
    as torch.std_mean, whose one-pass (Welford) kernel is several times slower on CPU."""
    mean = values.mean(dim=(2, 3), keepdim=True)
    std = torch.sub(values, mean, out=work).square_().mean(dim=(2, 3)).sqrt_()
    return mean.view(std.shape), std


def _rms(x: torch.Tensor) -> torch.Tensor:
    return x.square().mean(dim=tuple(range(1, x.dim()))).sqrt()
