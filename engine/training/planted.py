"""The training-level planted bugs (engine/nets/bugs.py), where the trainer computes the loss and reads labels.

`softmax_twice` makes the loss cross-entropy over softmax(outputs) for the runs that have it (training and
validation alike: the loss function is wrong, not one number); `shuffled_labels` gives a run's training batches
labels permuted against their inputs, once, from the run's seed (validation keeps the true ones). A group with
neither bug never calls into this module (engine/training/trainer.py), so its numbers are what they were.
"""

from __future__ import annotations

import torch

from engine.training.data import Dataset
from engine.vocabulary.group import GroupConfig

LABEL_SEED_OFFSET = 15_485_863  # a run's permutation of its labels is drawn from seed + this


def softmax_mask(group: GroupConfig, members: list[int]) -> torch.Tensor | None:
    """[K, 1, 1] True for the stack's runs whose loss takes softmax first; None when no run's does."""
    mask = torch.tensor([group.runs[k].bug == "softmax_twice" for k in members]).view(-1, 1, 1)
    return mask if bool(mask.any()) else None


def softmax_first(logits: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The outputs the buggy runs feed the cross-entropy: probabilities instead of scores."""
    return torch.where(mask, torch.softmax(logits, dim=-1), logits)


class ShuffledLabels:
    """Each shuffling run's training labels: the labelled prefix permuted against the inputs."""

    def __init__(self, group: GroupConfig, data: Dataset):
        self.labels: dict[int, torch.Tensor] = {}
        n = data.n_labelled
        for k, run in enumerate(group.runs):
            if run.bug == "shuffled_labels":
                generator = torch.Generator().manual_seed(run.seed + LABEL_SEED_OFFSET)
                labels = data.y_train.clone()
                labels[:n] = data.y_train[:n][torch.randperm(n, generator=generator)]
                self.labels[k] = labels

    @classmethod
    def for_group(cls, group: GroupConfig, data: Dataset) -> ShuffledLabels | None:
        return cls(group, data) if any(run.bug == "shuffled_labels" for run in group.runs) else None

    def targets(self, y: torch.Tensor, batch: torch.Tensor, members: list[int]) -> torch.Tensor:
        """The batch's labels per run of a stack, [K, B]; `y` itself when none of its runs shuffles."""
        if not any(k in self.labels for k in members):
            return y
        out = y.unsqueeze(0).repeat(len(members), *([1] * y.dim()))
        for local, k in enumerate(members):
            if k in self.labels:
                out[local] = self.labels[k][batch]
        return out
