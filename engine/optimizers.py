"""The seven update rules, with L2 (`weight_decay`) and `l1` on the weights only.

Runs of a stack that agree on the rule and its settings share one torch optimizer over the stacked
tensors. Otherwise each run gets its own optimizer over views of its slice of the stacked tensors,
so a stack can race SGD against Adam and still compute forward and backward once.
"""

from __future__ import annotations

import torch

from engine.config import RunConfig
from engine.nets import Stack


def build_optimizer(run: RunConfig, weights: list[torch.Tensor], others: list[torch.Tensor]) -> torch.optim.Optimizer:
    # Decay applies to weights only: decaying biases and norm gains only hurts small nets.
    decoupled = run.optimizer == "adamw"
    if run.weight_decay == 0:
        groups = [{"params": weights + others, "weight_decay": 0.0}]  # one group: fewer foreach calls
    else:
        groups = [{"params": weights, "weight_decay": run.weight_decay}, {"params": others, "weight_decay": 0.0}]
    groups = [g for g in groups if g["params"]]
    if run.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=run.lr, foreach=True)
    if run.optimizer in ("momentum", "nesterov"):
        return torch.optim.SGD(groups, lr=run.lr, momentum=run.momentum,
                               nesterov=run.optimizer == "nesterov", foreach=True)
    if run.optimizer == "adagrad":
        return torch.optim.Adagrad(groups, lr=run.lr, foreach=True)
    if run.optimizer == "rmsprop":
        return torch.optim.RMSprop(groups, lr=run.lr, foreach=True)
    if run.optimizer == "adam":
        return torch.optim.Adam(groups, lr=run.lr, foreach=True)
    if decoupled:
        return torch.optim.AdamW(groups, lr=run.lr, foreach=True)
    raise ValueError(f"unknown optimizer {run.optimizer!r}")


def _signature(run: RunConfig) -> tuple:
    return (run.optimizer, run.lr, run.momentum, run.weight_decay)


class StackOptimizer:
    def __init__(self, stack: Stack):
        self.stack = stack
        runs = stack.runs
        l1 = torch.tensor([r.l1 for r in runs]).view(-1, 1, 1)
        self.l1 = l1 if bool((l1 > 0).any()) else None
        others = stack.biases + stack.gammas + stack.betas
        self.shared = len({_signature(r) for r in runs}) == 1
        if self.shared:
            self.optimizers = [build_optimizer(runs[0], stack.weights, others)]
            self.views: list[list[tuple[torch.Tensor, torch.Tensor]]] = []
            return
        self.optimizers, self.views = [], []
        for k, run in enumerate(runs):
            # Parameters that share storage with slice k of the stacked leaves: updates land in place.
            weight_views = [torch.nn.Parameter(w.detach()[k]) for w in stack.weights]
            other_views = [torch.nn.Parameter(t.detach()[k]) for t in others]
            self.optimizers.append(build_optimizer(run, weight_views, other_views))
            self.views.append(list(zip(stack.weights + others, weight_views + other_views)))

    @torch.no_grad()
    def step(self) -> None:
        if self.l1 is not None:
            for weight in self.stack.weights:
                if weight.grad is not None:
                    weight.grad.add_(torch.sign(weight) * self.l1)
        if self.shared:
            self.optimizers[0].step()
            return
        for k, (optimizer, pairs) in enumerate(zip(self.optimizers, self.views)):
            for stacked, view in pairs:
                view.grad = stacked.grad[k] if stacked.grad is not None else None
            optimizer.step()
