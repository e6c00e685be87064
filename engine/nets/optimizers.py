"""The registry of update rules (`RULES`: each name once, with its description; the config's allowed values
and the Guide read it) and their arithmetic, with L2 (`weight_decay`) and `l1` on the weights only.

`l1` is a proximal step after the rule's update (soft-thresholding): w <- sign(w) * max(|w| - lr * l1, 0),
each run with its own lr * l1, whatever the rule (also for the adaptive ones, whose own steps are scaled).
A weight whose size falls below the threshold becomes exactly 0 and stays there until its gradient pushes
it out again; a subgradient (sign(w) * l1 added to the gradient) would only make it jitter around 0.

They work on a stack's flat buffers (`Stack.flat`, `Stack.flat_grad`, see stack.py): when every run of a
stack agrees on the rule and its settings, each line of the rule is one op over the whole buffer (or its
weight prefix, for decay). A stack that races SGD against Adam copies parameters and gradients into one
row per run, updates each block of neighbouring runs that agree with one op per line of its rule, with
that block's own settings, and copies the parameters back; it still computes forward and backward once.
The SGD family (sgd, momentum, nesterov) takes each run's lr, weight decay and momentum as a column, one
value per row, so a search's 64 runs with 64 learning rates update as one block: `addcmul` with a column
is the same fused multiply-add as `add(alpha=...)` with that run's number, bit for bit (tests/test_exactness.py).

The arithmetic is torch.optim's foreach implementation (torch/optim/sgd.py, adam.py, adagrad.py,
rmsprop.py at their default settings), line by line, with the same Python-float coefficients: every op
is elementwise, so one op over a buffer gives each entry the bits that one op per tensor gave it.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import groupby
from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:  # types only: the vocabulary reads RULES from here, so no import back at run time
    from engine.nets.stack import Stack
    from engine.vocabulary.config import RunConfig

@dataclass(frozen=True)
class RuleSpec:
    description: str
    state_tensors: int  # per parameter tensor: what the rule remembers between steps (memory estimates)


RULES: dict[str, RuleSpec] = {
    "sgd": RuleSpec("Plain stochastic gradient descent: each step moves the weights by -lr times the gradient.", 0),
    "momentum": RuleSpec("SGD along a decaying sum of past gradients (each step: the sum times momentum, plus the "
                         "new gradient; heavy ball): faster along consistent directions, damped across ravines.", 1),
    "nesterov": RuleSpec("Momentum that looks ahead: the gradient is taken where momentum is about to carry the "
                         "weights.", 1),
    "adagrad": RuleSpec("Divides each weight's step by the root of its summed squared gradients: steps only ever "
                        "shrink.", 1),
    "rmsprop": RuleSpec("Like AdaGrad with a decaying average of squared gradients, so the steps stop shrinking.", 1),
    "adam": RuleSpec("Momentum plus RMSProp's per-weight scaling, with bias correction for the first steps.", 2),
    "adamw": RuleSpec("Adam with decoupled weight decay: the weights shrink directly, not through the gradient "
                      "(with weight_decay 0 it is Adam).", 2),
}
NAMES = tuple(RULES)

ADAM_BETAS = (0.9, 0.999)
ADAM_EPS = 1e-8
RMSPROP_ALPHA = 0.99
RMSPROP_EPS = 1e-8
ADAGRAD_EPS = 1e-10
ADAGRAD_LR_DECAY = 0


SGD_FAMILY = ("sgd", "momentum", "nesterov")


def _family(run: RunConfig) -> str:
    """The rule's arithmetic, apart from its numbers: plain SGD whatever its name when momentum is 0 (torch
    keeps no buffer then)."""
    if run.optimizer in ("momentum", "nesterov") and run.momentum == 0:
        return "sgd"
    return run.optimizer


class Rule:
    """One update rule for a set of tensors: `params` (the first `n_weights` of them weights, which decay)
    and their gradients `grads`; state tensors are zeros of the same shapes, made on the first step."""

    def __init__(self, run: RunConfig, params: list[torch.Tensor], grads: list[torch.Tensor], n_weights: int):
        self.name, self.lr, self.momentum, self.weight_decay = run.optimizer, run.lr, run.momentum, run.weight_decay
        self.params, self.grads, self.n_weights = params, grads, n_weights
        self.steps = 0
        self.state: list[list[torch.Tensor]] = []

    def _zeros(self, count: int) -> None:
        self.state = [[torch.zeros_like(p) for p in self.params] for _ in range(count)]

    def step(self) -> None:
        params, grads, n_w = self.params, self.grads, self.n_weights
        lr, wd, name = self.lr, self.weight_decay, self.name
        self.steps += 1
        if wd != 0 and name == "adamw":
            torch._foreach_mul_(params[:n_w], 1 - lr * wd)
        elif wd != 0:  # L2: grad + wd * param (in place on this step's gradients, which nothing reads after)
            torch._foreach_add_(grads[:n_w], params[:n_w], alpha=wd)
        if name == "sgd" or (name in ("momentum", "nesterov") and self.momentum == 0):  # torch: no buffer
            torch._foreach_add_(params, grads, alpha=-lr)
        elif name in ("momentum", "nesterov"):
            if not self.state:
                self.state = [[g.clone() for g in grads]]
            else:
                torch._foreach_mul_(self.state[0], self.momentum)
                torch._foreach_add_(self.state[0], grads, alpha=1)
            if name == "nesterov":
                torch._foreach_add_(grads, self.state[0], alpha=self.momentum)
                torch._foreach_add_(params, grads, alpha=-lr)
            else:
                torch._foreach_add_(params, self.state[0], alpha=-lr)
        elif name == "adagrad":
            if not self.state:
                self._zeros(1)
            (sums,) = self.state
            minus_clr = -lr / (1 + (float(self.steps) - 1) * ADAGRAD_LR_DECAY)
            torch._foreach_addcmul_(sums, grads, grads, value=1)
            std = torch._foreach_sqrt(sums)
            torch._foreach_add_(std, ADAGRAD_EPS)
            torch._foreach_addcdiv_(params, torch._foreach_mul(grads, minus_clr), std)
        elif name == "rmsprop":
            if not self.state:
                self._zeros(1)
            (square_avg,) = self.state
            torch._foreach_mul_(square_avg, RMSPROP_ALPHA)
            torch._foreach_addcmul_(square_avg, grads, grads, value=1 - RMSPROP_ALPHA)
            avg = torch._foreach_sqrt(square_avg)
            torch._foreach_add_(avg, RMSPROP_EPS)
            torch._foreach_addcdiv_(params, grads, avg, value=-lr)
        elif name in ("adam", "adamw"):
            if not self.state:
                self._zeros(2)
            exp_avg, exp_avg_sq = self.state
            beta1, beta2 = ADAM_BETAS
            torch._foreach_lerp_(exp_avg, grads, 1 - beta1)
            torch._foreach_mul_(exp_avg_sq, beta2)
            torch._foreach_addcmul_(exp_avg_sq, grads, grads, value=1 - beta2)
            step = float(self.steps)
            step_size = (lr / (1 - beta1**step)) * -1
            bias_correction2_sqrt = (1 - beta2**step) ** 0.5
            denom = torch._foreach_sqrt(exp_avg_sq)
            torch._foreach_div_(denom, bias_correction2_sqrt)
            torch._foreach_add_(denom, ADAM_EPS)
            torch._foreach_addcdiv_(params, exp_avg, denom, value=step_size)
        else:
            raise ValueError(f"unknown optimizer {name!r}")


class ColumnRule:
    """The SGD family over rows of runs that differ in lr, weight decay or momentum: each number a column
    (one float32 per row, the value `add(alpha=...)` would have made of that run's Python float), each line
    of torch.optim's rule one `addcmul` or `mul` over the block."""

    def __init__(self, runs: list[RunConfig], params: list[torch.Tensor], grads: list[torch.Tensor], n_weights: int):
        def column(values: list[float]) -> torch.Tensor:
            return torch.tensor(values, dtype=params[0].dtype).view(-1, 1)

        self.family = _family(runs[0])
        self.minus_lr = column([-r.lr for r in runs])
        self.decay = column([r.weight_decay for r in runs]) if any(r.weight_decay for r in runs) else None
        self.momentum = column([r.momentum for r in runs])
        self.params, self.grads, self.n_weights = params, grads, n_weights
        self.buffers: list[torch.Tensor] = []

    def step(self) -> None:
        params, grads = self.params, self.grads
        if self.decay is not None:  # L2: grad + wd * param on the weights
            for grad, param in zip(grads[: self.n_weights], params[: self.n_weights]):
                grad.addcmul_(self.decay, param)
        if self.family != "sgd":
            if not self.buffers:
                self.buffers = [g.clone() for g in grads]
            else:
                for buffer, grad in zip(self.buffers, grads):
                    buffer.mul_(self.momentum).add_(grad)
            if self.family == "nesterov":
                for grad, buffer in zip(grads, self.buffers):
                    grad.addcmul_(self.momentum, buffer)
            else:
                grads = self.buffers
        for param, grad in zip(params, grads):
            param.addcmul_(self.minus_lr, grad)


def _signature(run: RunConfig) -> tuple:
    """Runs with the same signature update as one block; the SGD family's numbers are columns, not blocks."""
    if _family(run) in SGD_FAMILY:
        return (_family(run),)
    return (run.optimizer, run.lr, run.momentum, run.weight_decay)


class StackOptimizer:
    def __init__(self, stack: Stack):
        self.stack = stack
        runs = stack.runs
        # L1's threshold lr * l1 of each weight's run over the weight prefix (0 in the alignment gaps and for
        # runs without l1, where the step leaves w as it is), so the proximal step is two ops for any stack.
        threshold = torch.tensor([r.lr * r.l1 for r in runs]).view(-1, 1, 1)
        self.l1_high: torch.Tensor | None = None
        if bool((threshold > 0).any()):
            self.l1_high = torch.zeros(stack.n_weights)
            for weight, offset in zip(stack.weights, stack.offsets):
                self.l1_high[offset : offset + weight.numel()] = threshold.expand_as(weight).reshape(-1)
            self.l1_low = -self.l1_high
            self.l1_clamped = torch.empty(stack.n_weights)
        self.rules: list[Rule | ColumnRule] = []
        signatures = [_signature(r) for r in runs]
        numbers = {(r.lr, r.momentum, r.weight_decay) for r in runs}
        self.mixed = len(set(signatures)) > 1 or len(numbers) > 1
        self.in_place = False
        if not self.mixed:
            n_w = stack.n_weights
            if runs[0].weight_decay == 0:
                self.rules.append(Rule(runs[0], [stack.flat], [stack.flat_grad], 0))
            else:
                params, grads = [stack.flat[:n_w], stack.flat[n_w:]], [stack.flat_grad[:n_w], stack.flat_grad[n_w:]]
                self.rules.append(Rule(runs[0], [p for p in params if p.numel()], [g for g in grads if g.numel()], 1))
            return
        # Runs that differ: each step copies parameters and gradients into rows, one per run (weights first),
        # updates each block of neighbouring runs that agree with one op per line of its rule, and copies the
        # parameters back. Three copies instead of an op per tensor per run for every line of every rule.
        k = stack.k
        self.param_views = [p.detach().view(k, -1) for p in stack.parameters()]
        self.grad_views = [g.view(k, -1) for g in stack.grads]
        self.in_place = len(set(signatures)) == 1  # one SGD-family block: columns over each tensor, no rows
        if self.in_place:
            self.rules.append(ColumnRule(runs, self.param_views, self.grad_views, len(stack.weights)))
            return
        self.widths = [v.shape[1] for v in self.param_views]
        n_w = sum(self.widths[: len(stack.weights)])
        self.param_rows = torch.cat(self.param_views, dim=1)
        self.grad_rows = torch.empty_like(self.param_rows)
        start = 0
        for signature, block in groupby(signatures):
            count = len(list(block))
            rows = slice(start, start + count)
            block_runs = runs[start : start + count]
            start += count
            if not any(r.weight_decay for r in block_runs):
                params, grads, decayed = [self.param_rows[rows]], [self.grad_rows[rows]], 0
            else:
                params = [self.param_rows[rows, :n_w], self.param_rows[rows, n_w:]]
                grads = [self.grad_rows[rows, :n_w], self.grad_rows[rows, n_w:]]
                params, grads, decayed = [p for p in params if p.numel()], [g for g in grads if g.numel()], 1
            if signature[0] in SGD_FAMILY:
                self.rules.append(ColumnRule(block_runs, params, grads, decayed))
            else:
                self.rules.append(Rule(block_runs[0], params, grads, decayed))

    @torch.no_grad()
    def step(self) -> None:
        stack = self.stack
        if not self.mixed or self.in_place:
            self.rules[0].step()
        else:
            torch.cat(self.param_views, dim=1, out=self.param_rows)
            torch.cat(self.grad_views, dim=1, out=self.grad_rows)
            for rule in self.rules:
                rule.step()
            torch._foreach_copy_(self.param_views, self.param_rows.split(self.widths, dim=1))
        if self.l1_high is not None:
            self._soft_threshold(stack.flat[: stack.n_weights])

    def _soft_threshold(self, weights: torch.Tensor) -> None:
        """sign(w) * max(|w| - t, 0), computed as w - clamp(w, -t, t): the same number (w - t above t, its
        mirror below -t, exactly 0 between), in two ops instead of four."""
        torch.clamp(weights, self.l1_low, self.l1_high, out=self.l1_clamped)
        weights.sub_(self.l1_clamped)
