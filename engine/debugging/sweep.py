"""The gradient check's error against its step h, in float32 and float64: why the check runs in float64.

A centred difference errs in two ways. Truncation: the curvature left in (L(w+h) - L(w-h)) / 2h shrinks like
h^2, so the error falls to the left as h shrinks. Rounding: L is stored to about eps times its size (eps 6e-8 in
float32, 1e-16 in float64) and the difference divides that by 2h, so the error grows like eps / h. On a log-log
plot the two make a U; float32's U sits so high that at h = 1e-6 a correct backward pass reads as wrong (a false
alarm), while float64's bottom lies far below 1e-7.
"""

from __future__ import annotations

import pandas as pd
import torch

from engine.debugging.gradcheck import Resolution, Setup, numeric, sampled_entries, tensor_names
from engine.vocabulary.config import RunConfig

STEPS = tuple(10.0 ** (-e / 2) for e in range(2, 25))  # h from 1e-1 to 1e-12, half a decade apart
DTYPES = {"float32": torch.float32, "float64": torch.float64}
SWEEP_ENTRIES = 6  # per tensor: the curve's shape, not a verdict
COLUMNS = ["dtype", "h", "tensor", "layer", "kind", "error", "kinks"]


def error_vs_h(run: RunConfig, steps: tuple[float, ...] = STEPS, dtypes: tuple[str, ...] = tuple(DTYPES),
               entries: int = SWEEP_ENTRIES) -> pd.DataFrame:
    """Per precision, step and tensor: the relative error of the run's backward pass (the fast path where it
    has one), with entries whose step crossed a kink left out (`kinks` counts them)."""
    setup = Setup.of(run)
    rows = []
    for name in dtypes:
        stack = setup.stack(DTYPES[name], "fast") or setup.stack(DTYPES[name], "autograd")
        analytic = setup.analytic(stack)
        chosen = [sampled_entries(t.numel(), entries, setup.run.seed + i) for i, t in enumerate(stack.parameters())]
        loss = setup.loss(stack)[0]
        for h in steps:
            resolution = Resolution.of(analytic, loss, h, DTYPES[name])
            for i, ((tensor, layer, kind), param) in enumerate(zip(tensor_names(stack), stack.parameters())):
                values, kinked = numeric(setup, stack, param, chosen[i], h)
                keep = ~kinked
                error, _ = resolution.error(analytic[i].view(-1)[chosen[i]][keep], values[keep])
                rows.append({"dtype": name, "h": h, "tensor": tensor, "layer": layer, "kind": kind, "error": error,
                             "kinks": int(kinked.sum())})
    return pd.DataFrame(rows, columns=COLUMNS)
