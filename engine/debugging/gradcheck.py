"""The gradient check: the engine's own backward pass against centred finite differences of its own loss.

For a run, on a small batch of its training points, at its initial weights (after LSUV, if it uses it), every
parameter tensor of every layer: the analytic gradient is what a training step computes (`Stack.train_forward`,
the trainer's loss, `Stack.train_backward`), on the fast path and on the autograd path; the numerical one is
(L(w + h) - L(w - h)) / 2h per entry, from the same net's forward pass and the same loss. Big tensors are
checked on a sample of their entries. The check runs in float64 by default (float32's rounding makes finite
differences useless at small h: `error_vs_h` shows it).

Switched off for the check: dropout (each forward pass would draw another mask, so L would not be one
function of the weights), and weight decay and L1 (the engine applies them in the update, not in the
gradient, and L1 has a kink at 0); pre-training and early stopping do not touch one step's gradient.

Per tensor the relative error is |a - n| / max(|a|, |n|) over its checked entries as vectors (2-norms), so a
tensor of tiny gradients is not judged by rounding alone. Bands, as in CS231n's notes: above 1e-2 wrong,
1e-4 to 1e-2 suspicious, 1e-7 to 1e-4 probably right (fine where the loss has kinks, high where it has none),
below 1e-7 right. Entries whose +h and -h put an activation input on both sides of a kink (engine/debugging/
kinks.py) are counted and left out. A tensor whose true gradient is 0 (the bias before a batch norm, which
subtracts it again) has nothing to compare: its analytic gradient is rounding (below ZERO_SHARE of the net's
largest) and its differences are noise (below NOISE_FACTOR x eps x |L| / h per entry), so it counts as right,
marked `zero`, rather than as a relative error of two noises.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd
import torch

from engine.debugging.kinks import crossed, kinks
from engine.nets.stack import Stack
from engine.training.trainer import GroupTrainer
from engine.vocabulary.config import RunConfig
from engine.vocabulary.group import GroupConfig
from engine.vocabulary.layers import hidden_names, layer_names

H = 1e-5  # the check's step (CS231n's): float64's U bottoms out near it (sweep.py); error_vs_h sweeps it
BATCH = 8  # training points the check's loss is the mean over
ENTRIES = 24  # checked entries per tensor at most: a sample of bigger ones
BANDS = (("wrong", 1e-2), ("suspicious", 1e-4), ("probably right", 1e-7), ("right", 0.0))  # above each bound
PATHS = ("fast", "autograd")
OFF_FOR_THE_CHECK = {"dropout": 0.0, "weight_decay": 0.0, "l1": 0.0, "pretrain": "none", "early_stopping": 0}
ZERO_SHARE = 1e3  # x eps: an analytic gradient this small next to the net's largest is rounding of a true 0
NOISE_FACTOR = 10  # x eps x |L| / h: differences this small per entry are the loss's rounding, not a slope
COLUMNS = ["run", "path", "tensor", "layer", "kind", "size", "checked", "kinks", "zero", "error", "band"]


def band(error: float) -> str:
    """CS231n's band of a relative error ("n/a" when every checked entry crossed a kink)."""
    if not math.isfinite(error):
        return "n/a"
    return next(name for name, bound in BANDS if error > bound or bound == 0.0)


def checked_config(run: RunConfig) -> RunConfig:
    """The run as the check sees it: dropout and regularization off (see the module's docstring)."""
    return run.model_copy(update=OFF_FOR_THE_CHECK)


@dataclass
class Setup:
    """One run, ready to check: its trainer (data, loss, the initial weights) and the check's batch."""

    run: RunConfig
    trainer: GroupTrainer
    x: torch.Tensor
    y: torch.Tensor

    @classmethod
    def of(cls, run: RunConfig, batch: int = BATCH) -> Setup:
        config = checked_config(run)
        trainer = GroupTrainer(GroupConfig.single(config))
        return cls(config, trainer, trainer.data.x_train[:batch], trainer.data.y_train[:batch])

    def stack(self, dtype: torch.dtype, path: str) -> Stack | None:
        """A copy of the run's initial net in `dtype` on `path` (None: the path does not exist for this run)."""
        start = self.trainer.stacks[0]
        stack = Stack([self.run], start.sizes, dropout_seed=self.run.seed, dtype=dtype)
        if path == "fast" and stack.fast_path is None:
            return None  # batch and layer norm always take the autograd path
        if path == "autograd":
            stack.fast_path = None
        with torch.no_grad():
            for mine, theirs in zip(stack.parameters(), start.parameters()):
                mine.copy_(theirs)
        return stack

    def targets(self, dtype: torch.dtype) -> torch.Tensor:
        return self.y if self.trainer.classification else self.y.to(dtype)

    def analytic(self, stack: Stack) -> list[torch.Tensor]:
        """Every parameter's gradient as a training step computes it."""
        x = self.x.to(stack.flat.dtype)
        logits = stack.train_forward(x)
        with torch.enable_grad():
            leaf = logits.detach().requires_grad_()
            (grad,) = torch.autograd.grad(self.trainer.loss(leaf, self.targets(x.dtype), [0]).sum(), leaf)
        stack.train_backward(grad)
        return [g.detach().clone() for g in stack.grads]

    def loss(self, stack: Stack) -> tuple[float, list[torch.Tensor]]:
        """The loss of the net as it is now, and every hidden layer's activation input (for the kinks)."""
        x = self.x.to(stack.flat.dtype)
        stack.recorder.start(values=True, grads=False)
        try:
            with torch.no_grad():
                logits = stack.forward(x, mode="init")  # training's forward pass, without side effects
                loss = self.trainer.loss(logits, self.targets(x.dtype), [0])
            return float(loss[0]), list(stack.recorder.s)
        finally:
            stack.recorder.stop()


def tensor_names(stack: Stack) -> list[tuple[str, str, str]]:
    """(name, layer, kind) of each of stack.parameters(), in nn.Linear's names (h1.weight, h1.norm.bias, ...)."""
    layers, hidden = layer_names(stack.depth), hidden_names(stack.depth)
    names = [(f"{layer}.weight", layer, "weight") for layer in layers]
    names += [(f"{layer}.bias", layer, "bias") for layer in layers]
    names += [(f"{layer}.norm.weight", layer, "norm gain") for layer in hidden[: len(stack.gammas)]]
    names += [(f"{layer}.norm.bias", layer, "norm shift") for layer in hidden[: len(stack.betas)]]
    return names


def sampled_entries(size: int, entries: int, seed: int) -> torch.Tensor:
    """All of a tensor's entries, or `entries` of them drawn without replacement (the same at every call)."""
    if size <= entries:
        return torch.arange(size)
    return torch.randperm(size, generator=torch.Generator().manual_seed(seed))[:entries].sort().values


def numeric(setup: Setup, stack: Stack, tensor: torch.Tensor, entries: torch.Tensor,
            h: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Centred differences of the loss at the given entries of `tensor` (a parameter of `stack`), and whether
    each entry's +h and -h crossed a kink. The step is what was stored: (w + h) - (w - h) in the tensor's dtype."""
    run = setup.run
    points = kinks(run.activation, run.leak)
    flat = tensor.detach().view(-1)
    values = torch.empty(len(entries), dtype=torch.float64)
    kinked = torch.zeros(len(entries), dtype=torch.bool)
    with torch.no_grad():
        for i, index in enumerate(entries.tolist()):
            old = flat[index].clone()
            flat[index] = old + h
            upper, plus = flat[index].clone(), setup.loss(stack)
            flat[index] = old - h
            lower, minus = flat[index].clone(), setup.loss(stack)
            flat[index] = old
            step = float(upper - lower)  # 0 when h is below the weight's rounding: then L(w+h) = L(w-h)
            values[i] = (plus[0] - minus[0]) / step if step else 0.0
            kinked[i] = bool(points) and crossed(plus[1], minus[1], points)
    return values, kinked


def relative_error(analytic: torch.Tensor, numerical: torch.Tensor) -> float:
    """|a - n| / max(|a|, |n|) with 2-norms over the entries; 0 when both are exactly 0; NaN when empty."""
    if analytic.numel() == 0:
        return math.nan
    a, n = analytic.to(torch.float64), numerical.to(torch.float64)
    scale = max(float(a.norm()), float(n.norm()))
    return float((a - n).norm()) / scale if scale > 0 else 0.0


@dataclass
class Resolution:
    """What one stack's check can tell from 0: the analytic gradient's rounding and the differences' noise."""

    analytic: float  # an analytic tensor's norm below this is a rounded 0
    numeric: float  # per entry: a difference quotient below this is the loss's rounding

    @classmethod
    def of(cls, analytic: list[torch.Tensor], loss: float, h: float, dtype: torch.dtype) -> Resolution:
        eps = torch.finfo(dtype).eps
        largest = max(float(g.norm()) for g in analytic)
        return cls(ZERO_SHARE * eps * largest, NOISE_FACTOR * eps * max(abs(loss), 1e-12) / h)

    def error(self, analytic: torch.Tensor, numerical: torch.Tensor) -> tuple[float, bool]:
        """(relative error, whether both sides are 0 within what the check resolves: then the error is 0)."""
        if analytic.numel() and float(analytic.norm()) <= self.analytic \
                and float(numerical.norm()) <= self.numeric * analytic.numel() ** 0.5:
            return 0.0, True
        return relative_error(analytic, numerical), False


def check_stack(setup: Setup, stack: Stack, h: float, entries: int) -> list[dict]:
    """One row per parameter tensor of one stack (one path, one dtype)."""
    analytic = setup.analytic(stack)
    resolution = Resolution.of(analytic, setup.loss(stack)[0], h, stack.flat.dtype)
    rows = []
    for i, ((name, layer, kind), tensor) in enumerate(zip(tensor_names(stack), stack.parameters())):
        chosen = sampled_entries(tensor.numel(), entries, setup.run.seed + i)
        values, kinked = numeric(setup, stack, tensor, chosen, h)
        keep = ~kinked
        error, zero = resolution.error(analytic[i].view(-1)[chosen][keep], values[keep])
        rows.append({"tensor": name, "layer": layer, "kind": kind, "size": tensor.numel(),
                     "checked": int(keep.sum()), "kinks": int(kinked.sum()), "zero": zero, "error": error,
                     "band": band(error)})
    return rows


@dataclass
class GradCheck:
    """The check of a group, one row per (run, path, tensor) in `table` (COLUMNS)."""

    table: pd.DataFrame
    h: float
    dtype: str
    batch: int
    missing_paths: dict[str, str]  # run id -> why a path was not checked

    @property
    def wrong(self) -> pd.DataFrame:
        return self.table[self.table["band"] == "wrong"]

    @property
    def passed(self) -> bool:
        return self.wrong.empty


def gradient_check(group: GroupConfig | RunConfig, dtype: torch.dtype = torch.float64, h: float = H,
                   entries: int = ENTRIES, batch: int = BATCH, paths: tuple[str, ...] = PATHS) -> GradCheck:
    """Check every run of a group (or one run) on each training path."""
    group = GroupConfig.single(group) if isinstance(group, RunConfig) else group
    rows, missing = [], {}
    for run_id, run in zip(group.ids, group.runs):
        setup = Setup.of(run, batch)
        for path in paths:
            stack = setup.stack(dtype, path)
            if stack is None:
                missing[run_id] = f"norm {run.norm} always trains on the autograd path: there is no fast path to check"
                continue
            rows += [{"run": run_id, "path": path, **row} for row in check_stack(setup, stack, h, entries)]
    table = pd.DataFrame(rows, columns=COLUMNS)
    return GradCheck(table=table, h=h, dtype=str(dtype).removeprefix("torch."), batch=batch, missing_paths=missing)
