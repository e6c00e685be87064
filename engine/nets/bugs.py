"""Planted bugs: classic implementation mistakes a learner can switch on (the key `bug`) and then catch.

Each bug is defined once here, with what it does wrong, whether it breaks the backward pass (the gradient
check names the tensors it touches) or only training (a sanity check catches it), and what to look for.
The config's allowed values (engine/vocabulary/config.py) and the Debug page read this registry.

A bug changes the engine's real code path, never a copy of it: `Planted` below is what a stack
(engine/nets/stack.py) and its fast path (fast_path.py) call at the one place each backward bug lives,
on both training paths; the training-level bugs live in the trainer (engine/training/planted.py). With
`bug` none on every run a stack holds no `Planted` at all, so training is bit for bit what it was.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:  # types only: the vocabulary reads BUGS from here, so no import back at run time
    from engine.vocabulary.config import RunConfig

BACKWARD, TRAINING = "backward", "training"  # what a bug breaks: the gradient itself, or only training


@dataclass(frozen=True)
class Bug:
    name: str
    description: str  # what the code does wrong, in one sentence
    kind: str  # BACKWARD or TRAINING
    caught_by: str  # the check meant for it: "gradient check", "overfit" or "validation"
    look_for: str  # the symptom, in a sentence


BUGS: dict[str, Bug] = {bug.name: bug for bug in [
    Bug("none", "No bug: the engine as it is.", TRAINING, "", ""),
    Bug("slope", "The activation's slope is left out of the backward pass: the gradient goes through every "
                 "hidden layer as if the activation were linear.", BACKWARD, "gradient check",
        "Every hidden layer's weights and biases check wrong, the output layer's right (with activation linear "
        "the slope is 1 and the bug changes nothing)."),
    Bug("bias_grad", "The bias gradient is never computed: every bias gets a gradient of 0 and keeps its "
                     "initial value.", BACKWARD, "gradient check",
        "Every bias checks wrong (relative error 1), every weight right."),
    Bug("weight_grad_scale", "The weight gradient is divided by the batch size a second time (the loss is a mean "
                             "already).", BACKWARD, "gradient check",
        "Every weight checks wrong (relative error 1 - 1/batch), every bias right; training crawls."),
    Bug("softmax_twice", "Softmax is applied to the outputs before the cross-entropy, which applies its own: the "
                         "loss is computed on probabilities instead of scores.", TRAINING, "overfit",
        "The gradient checks right (it is the gradient of the wrong loss); overfitting a few examples reaches "
        "100% accuracy but the loss stalls far above 0."),
    Bug("no_zero_grad", "Gradients are never cleared between steps: each step adds its gradient to the sum of "
                        "all earlier ones and the update follows that sum.", TRAINING, "validation",
        "The gradient of one step checks right and a few examples may even be memorised; trained longer, the "
        "summed gradients blow the outputs up and the loss climbs far above a guess's."),
    Bug("shuffled_labels", "The training labels are shuffled against their inputs (validation keeps the true "
                           "ones).", TRAINING, "validation",
        "Gradients check right and a few examples are memorised as fast as real ones; only validation accuracy, "
        "stuck at chance, shows it."),
]}
NAMES = tuple(BUGS)
NONE = "none"


class Planted:
    """The backward bugs of one stack's runs, applied where the engine computes each gradient. Made only when a
    run of the stack has a bug (`for_runs`); `runs` holds each run's bug name."""

    def __init__(self, runs: list[str]):
        self.runs = runs
        self.slope = self._mask("slope")
        self.bias_grad = [k for k, name in enumerate(runs) if name == "bias_grad"]
        self.weight_grad_scale = [k for k, name in enumerate(runs) if name == "weight_grad_scale"]
        self.no_zero_grad = [k for k, name in enumerate(runs) if name == "no_zero_grad"]
        self.carried: list[torch.Tensor] | None = None  # no_zero_grad: the gradients summed so far

    @classmethod
    def for_runs(cls, runs: list[RunConfig]) -> Planted | None:
        names = [run.bug for run in runs]
        return cls(names) if any(name != NONE for name in names) else None

    def _mask(self, name: str) -> torch.Tensor | None:
        mask = torch.tensor([bug == name for bug in self.runs]).view(-1, 1, 1)
        return mask if bool(mask.any()) else None

    def slope_left_out(self, s: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        """Autograd path: a, whose gradient reaches s unchanged in the runs with the slope bug."""
        if self.slope is None or not a.requires_grad:
            return a
        return _SlopeLeftOut.apply(s, a, self.slope)

    def skip_slope(self, grad_s: torch.Tensor, grad_a: torch.Tensor) -> None:
        """Fast path: dL/ds := dL/da in the runs with the slope bug (the activation's backward already ran)."""
        if self.slope is not None:
            for k in self.slope.view(-1).nonzero().view(-1).tolist():
                grad_s[k].copy_(grad_a[k])

    def after_backward(self, weight_grads: list[torch.Tensor], bias_grads: list[torch.Tensor], batch: int,
                       grads: list[torch.Tensor]) -> None:
        """Both paths, once every gradient is in the stack's buffer: the bias and weight-gradient bugs, then
        no_zero_grad's running sum (what an optimizer would read if the buffer were never cleared)."""
        for k in self.bias_grad:
            for bias in bias_grads:
                bias[k].zero_()
        for k in self.weight_grad_scale:
            for weight in weight_grads:
                weight[k].div_(batch)
        if self.no_zero_grad:
            if self.carried is None:
                self.carried = [torch.zeros_like(g) for g in grads]
            for grad, carried in zip(grads, self.carried):
                for k in self.no_zero_grad:
                    grad[k].add_(carried[k])
                    carried[k].copy_(grad[k])


class _SlopeLeftOut(torch.autograd.Function):
    """Forward: a as it is. Backward: in the masked runs the gradient goes to s directly (the slope left out),
    in the others through a, as usual."""

    @staticmethod
    def forward(ctx, s: torch.Tensor, a: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(mask)
        return a.clone()

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, None]:
        (mask,) = ctx.saved_tensors
        return grad * mask, grad * ~mask, None
