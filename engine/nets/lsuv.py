"""Layer-sequential unit-variance init (Mishkin & Matas 2016), for the runs that ask for it.

Start orthogonal (done by the initializer), then layer by layer rescale W by 1/sqrt(Var(z)) on one
batch until abs(Var(z) - 1) < 0.1 or 10 tries. Finally apply `init_gain`, as for every scheme.
"""

from __future__ import annotations

import torch

from engine.nets.stack import Stack

TOLERANCE = 0.1
MAX_TRIES = 10


def linear_outputs(stack: Stack, x: torch.Tensor) -> list[torch.Tensor]:
    """z of every layer (hidden and out), [K, B, width] each, without side effects."""
    stack.recorder.start(values=True, grads=False)
    try:
        stack.forward(x, mode="init")
        return [*stack.recorder.z, stack.recorder.out_z]
    finally:
        stack.recorder.stop()


@torch.no_grad()
def apply_lsuv(stack: Stack, x: torch.Tensor) -> None:
    chosen = [k for k, run in enumerate(stack.runs) if run.init == "lsuv"]
    if not chosen:
        return
    for layer in range(len(stack.weights)):
        pending = list(chosen)
        for _ in range(MAX_TRIES):
            z = linear_outputs(stack, x)[layer]
            variance = z.var(dim=(1, 2), correction=0)
            pending = [k for k in pending if abs(float(variance[k]) - 1) >= TOLERANCE]
            if not pending:
                break
            for k in pending:
                if float(variance[k]) > 0:
                    stack.weights[layer][k].div_(float(variance[k]) ** 0.5)
    for k in chosen:
        gain = stack.runs[k].init_gain
        if gain != 1:
            for weight in stack.weights:
                weight[k].mul_(gain)
