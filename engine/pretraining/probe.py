"""A linear probe: how much of the task a layer's code makes linearly readable, after that layer's phase.

Closed-form ridge regression (lambda = RIDGE) from the code, plus a constant, to one-hot classes (or to the
target, for regression), fitted on the labelled training points and scored on the validation points: accuracy
of the largest output, or mean squared error. One linear solve per run, in float64: cheap and deterministic.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

RIDGE = 1.0


def probe_scores(train_codes: torch.Tensor, y_train: torch.Tensor, val_codes: torch.Tensor, y_val: torch.Tensor,
                 n_classes: int) -> torch.Tensor:
    """[K] validation accuracy (classes) or mean squared error (regression) of ridge fits on codes [K, n, d]."""
    def with_constant(codes: torch.Tensor) -> torch.Tensor:
        return F.pad(codes.double(), (0, 1), value=1.0)

    h, h_val = with_constant(train_codes), with_constant(val_codes)
    target = F.one_hot(y_train, n_classes).double() if n_classes else y_train.double().unsqueeze(-1)
    gram = h.transpose(1, 2) @ h + RIDGE * torch.eye(h.shape[-1], dtype=torch.float64)
    coefficients = torch.linalg.solve(gram, h.transpose(1, 2) @ target)
    predicted = h_val @ coefficients
    if n_classes:
        return (predicted.argmax(-1) == y_val).double().mean(-1).float()
    return (predicted.squeeze(-1) - y_val.double()).square().mean(-1).float()
