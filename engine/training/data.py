"""The eight datasets, generated deterministically from the seed, split and standardized.

Two-class 2-D problems in the spirit of TensorFlow Playground, a 1-D regression (`sine`) and
scikit-learn's bundled 8x8 digits (no download). Standardization uses training statistics only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch

from engine.vocabulary.config import RunConfig


@dataclass(frozen=True)
class Dataset:
    x_train: torch.Tensor  # float32 [n, d]
    y_train: torch.Tensor  # int64 [n] for classes, float32 [n] for regression
    x_val: torch.Tensor
    y_val: torch.Tensor
    n_classes: int  # 0 for regression
    raw_train: np.ndarray  # inputs before standardization, for plotting
    raw_val: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    # Fine-tuning draws its batches from the first n_labelled training points (the key `labels`; the split is
    # already shuffled, so they are a random subset); pre-training sees all of x_train. 0 means all.
    labelled: int = 0
    # The held-out test split (key `test_fraction`), empty unless asked for: only a search scores it, once.
    x_test: torch.Tensor | None = None
    y_test: torch.Tensor | None = None

    @property
    def n_labelled(self) -> int:
        n = len(self.x_train)
        return min(self.labelled, n) if self.labelled else n

    @property
    def n_inputs(self) -> int:
        return int(self.x_train.shape[1])

    @property
    def n_outputs(self) -> int:
        return self.n_classes or 1

    def chance_loss(self) -> float:
        """Loss of a net that learned nothing: uniform class probabilities, or predicting the mean."""
        if self.n_classes:
            return math.log(self.n_classes)
        return float(self.y_val.var(unbiased=False))

    def chance_accuracy(self) -> float:
        if not self.n_classes:
            return math.nan
        counts = torch.bincount(self.y_val, minlength=self.n_classes)
        return float(counts.max()) / max(1, len(self.y_val))


def _spiral(rng: np.random.Generator, n: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    labels = np.arange(n) % 2
    radius = rng.uniform(0.05, 1.0, n)
    angle = 1.75 * 2 * math.pi * radius + math.pi * labels
    points = np.stack([radius * np.sin(angle), radius * np.cos(angle)], axis=1) * 5
    return points + rng.normal(0, noise, points.shape), labels


def _circles(rng: np.random.Generator, n: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    labels = np.arange(n) % 2
    radius = np.where(labels == 0, rng.uniform(0, 2, n), rng.uniform(3.5, 5, n))
    angle = rng.uniform(0, 2 * math.pi, n)
    points = np.stack([radius * np.sin(angle), radius * np.cos(angle)], axis=1)
    return points + rng.normal(0, noise * 2, points.shape), labels


def _xor(rng: np.random.Generator, n: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    points = rng.uniform(-5, 5, (n, 2))
    points += np.sign(points) * 0.3  # a small margin around the axes
    labels = (points[:, 0] * points[:, 1] > 0).astype(np.int64)
    return points + rng.normal(0, noise * 2, points.shape), labels


def _gaussians(rng: np.random.Generator, n: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    labels = np.arange(n) % 2
    centers = np.where(labels[:, None] == 0, 2.0, -2.0)
    return rng.normal(centers, 0.5 + 2 * noise, (n, 2)), labels


def _moons(rng: np.random.Generator, n: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    labels = np.arange(n) % 2
    angle = rng.uniform(0, math.pi, n)
    upper = np.stack([np.cos(angle), np.sin(angle)], axis=1)
    lower = np.stack([1 - np.cos(angle), 0.5 - np.sin(angle)], axis=1)
    points = np.where(labels[:, None] == 0, upper, lower)
    return points + rng.normal(0, noise, points.shape), labels


def _checkerboard(rng: np.random.Generator, n: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    points = rng.uniform(-4, 4, (n, 2))
    labels = ((np.floor(points[:, 0] / 2) + np.floor(points[:, 1] / 2)) % 2).astype(np.int64)
    return points + rng.normal(0, noise, points.shape), labels


def _sine(rng: np.random.Generator, n: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    x = rng.uniform(-math.pi, math.pi, (n, 1))
    y = np.sin(2 * x[:, 0]) + rng.normal(0, noise, n)
    return x, y


@lru_cache(maxsize=1)
def _digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits  # imported late: it is the slowest import here

    digits = load_digits()
    return digits.data.astype(np.float64), digits.target.astype(np.int64)


GENERATORS = {
    "spiral": _spiral,
    "circles": _circles,
    "xor": _xor,
    "gaussians": _gaussians,
    "moons": _moons,
    "checkerboard": _checkerboard,
    "sine": _sine,
}


def make_dataset(config: RunConfig) -> Dataset:
    rng = np.random.default_rng(config.seed)
    if config.dataset == "digits":
        x, y = _digits_arrays()
        n_classes = 10
    else:
        x, y = GENERATORS[config.dataset](rng, config.samples, config.noise)
        n_classes = 0 if config.dataset == "sine" else 2
    order = rng.permutation(len(x))
    n_val = max(1, round(config.val_fraction * len(x)))
    # A share of the points outside validation (so at least half of them train); 0 unless asked for, and then the
    # training split is as it always was.
    n_test = round(config.test_fraction * (len(x) - n_val))
    val_idx, test_idx, train_idx = order[:n_val], order[n_val:n_val + n_test], order[n_val + n_test:]
    raw_train, raw_val = x[train_idx], x[val_idx]
    mean = raw_train.mean(axis=0) if config.standardize else np.zeros(x.shape[1])
    std = raw_train.std(axis=0) if config.standardize else np.ones(x.shape[1])
    std = np.where(std > 1e-8, std, 1.0)  # constant pixels of digits stay as they are

    def inputs(a: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(((a - mean) / std).astype(np.float32))

    def targets(a: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(a.astype(np.int64 if n_classes else np.float32))

    return Dataset(
        x_train=inputs(raw_train), y_train=targets(y[train_idx]),
        x_val=inputs(raw_val), y_val=targets(y[val_idx]),
        n_classes=n_classes, raw_train=raw_train, raw_val=raw_val, mean=mean, std=std, labelled=config.labels,
        x_test=inputs(x[test_idx]) if n_test else None, y_test=targets(y[test_idx]) if n_test else None,
    )


class BatchSampler:
    """Shuffled epochs over the training split, from its own generator: same seed, same batches."""

    def __init__(self, n: int, batch_size: int, seed: int):
        self.n = n
        self.batch_size = min(batch_size, n)
        self.generator = torch.Generator().manual_seed(seed)
        self.order = torch.randperm(n, generator=self.generator)
        self.position = 0

    def next(self) -> torch.Tensor:
        if self.position + self.batch_size > self.n:
            self.order = torch.randperm(self.n, generator=self.generator)
            self.position = 0
        batch = self.order[self.position : self.position + self.batch_size]
        self.position += self.batch_size
        return batch
