"""What the net computes, for the page's second chart: small numpy payloads made in the worker.

- 2-D datasets: the probability of class 1 on a GRID x GRID lattice over the input plane (raw units).
- `sine`: the predicted curve on CURVE_POINTS inputs.
- `digits`: the confusion matrix on the validation split.
Each is computed in eval mode, without gradients, for every run of a group at once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from engine.training.data import Dataset
from engine.training.trainer import GroupTrainer

GRID = 48
CURVE_POINTS = 200


@dataclass
class Prediction:
    kind: str  # "boundary", "curve" or "confusion"
    step: int
    runs: list[str]
    axes: list[np.ndarray]  # boundary: [xs, ys]; curve: [x]; confusion: []
    values: np.ndarray  # boundary: [K, GRID, GRID] P(class 1); curve: [K, CURVE_POINTS]; confusion: [K, C, C]


def _plane(data: Dataset) -> tuple[np.ndarray, np.ndarray, torch.Tensor]:
    points = np.vstack([data.raw_train, data.raw_val])
    lo, hi = points.min(axis=0), points.max(axis=0)
    pad = (hi - lo) * 0.05 + 1e-6
    xs = np.linspace(lo[0] - pad[0], hi[0] + pad[0], GRID)
    ys = np.linspace(lo[1] - pad[1], hi[1] + pad[1], GRID)
    grid_x, grid_y = np.meshgrid(xs, ys)  # rows follow y, columns follow x, as a heatmap draws them
    raw = np.stack([grid_x.ravel(), grid_y.ravel()], axis=1)
    return xs, ys, torch.from_numpy(((raw - data.mean) / data.std).astype(np.float32))


@torch.no_grad()
def predict(trainer: GroupTrainer) -> Prediction:
    data: Dataset = trainer.data
    ids, step = trainer.ids, trainer.step
    order = [k for members in trainer.members for k in members]
    if data.n_classes == 0:
        x = np.linspace(data.raw_train.min(), data.raw_train.max(), CURVE_POINTS)
        inputs = torch.from_numpy(((x[:, None] - data.mean) / data.std).astype(np.float32))
        outputs = torch.cat([stack.forward(inputs, mode="eval")[..., 0] for stack in trainer.stacks])
        return Prediction("curve", step, [ids[k] for k in order], [x], outputs.numpy())
    if data.n_inputs == 2:
        xs, ys, inputs = _plane(data)
        probabilities = torch.cat([torch.softmax(stack.forward(inputs, mode="eval"), dim=-1)[..., 1]
                                   for stack in trainer.stacks])
        return Prediction("boundary", step, [ids[k] for k in order], [xs, ys],
                          probabilities.view(-1, GRID, GRID).numpy())
    classes = data.n_classes
    predicted = torch.cat([stack.forward(data.x_val, mode="eval").argmax(dim=-1) for stack in trainer.stacks])
    index = data.y_val.unsqueeze(0) * classes + predicted
    matrices = torch.stack([torch.bincount(row, minlength=classes * classes) for row in index])
    return Prediction("confusion", step, [ids[k] for k in order], [], matrices.view(-1, classes, classes).numpy())
