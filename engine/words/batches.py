"""The corpus order: which centre words, with which context words, each training step sees.

Every epoch subsamples the text afresh and draws each centre word's window (uniform in 1..window, as word2vec
does: near words count more often than far ones); windows stop at a document's end. A step takes the next
CENTRES_PER_STEP kept tokens in text order. Both runs of a comparison read this one order: skip-gram makes one
example per (centre, context) pair of the step, CBOW one per centre word, from the same windows.

Everything here follows from the seed alone; the number of steps is known before training starts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from engine.words.vocab import Vocab

CENTRES_PER_STEP = 64


@dataclass
class Window:
    centres: torch.Tensor  # [n] word ids
    contexts: torch.Tensor  # [n, 2 * window] word ids (0 where empty)
    mask: torch.Tensor  # [n, 2 * window] float, 1 where a context word is


class CorpusOrder:
    def __init__(self, vocab: Vocab, ids: np.ndarray, docs: np.ndarray, window: int, subsample: float,
                 epochs: int, seed: int):
        self.ids, self.docs, self.window, self.epochs, self.seed = ids, docs, window, epochs, seed
        keep = vocab.keep_probability(subsample)[ids] if len(ids) else np.ones(0)
        rng = np.random.default_rng([seed, 7])
        self.kept = [np.flatnonzero(rng.random(len(ids)) < keep) for _ in range(epochs)]  # positions per epoch
        self.steps_per_epoch = [math.ceil(len(k) / CENTRES_PER_STEP) for k in self.kept]
        self.total_steps = sum(self.steps_per_epoch)
        self._epoch_windows: tuple[int, np.ndarray, np.ndarray] | None = None

    def locate(self, step: int) -> tuple[int, int]:
        """(epoch, step within it) of a global step."""
        for epoch, count in enumerate(self.steps_per_epoch):
            if step < count:
                return epoch, step
            step -= count
        raise IndexError(step)

    def _windows(self, epoch: int) -> tuple[np.ndarray, np.ndarray]:
        """Context word ids [n, 2w] and a mask for every kept position of an epoch, built once per epoch."""
        if self._epoch_windows is None or self._epoch_windows[0] != epoch:
            positions = self.kept[epoch]
            ids, docs = self.ids[positions], self.docs[positions]
            rng = np.random.default_rng([self.seed, 11, epoch])
            reach = rng.integers(1, self.window + 1, size=len(positions))
            offsets = np.concatenate([np.arange(-self.window, 0), np.arange(1, self.window + 1)])
            where = np.arange(len(positions))[:, None] + offsets[None, :]
            inside = (where >= 0) & (where < len(positions))
            where = np.clip(where, 0, max(len(positions) - 1, 0))
            mask = inside & (np.abs(offsets)[None, :] <= reach[:, None]) & (docs[where] == docs[:, None])
            self._epoch_windows = (epoch, np.where(mask, ids[where], 0), mask)
        return self._epoch_windows[1], self._epoch_windows[2]

    def batch(self, step: int) -> Window:
        epoch, within = self.locate(step)
        contexts, mask = self._windows(epoch)
        rows = slice(within * CENTRES_PER_STEP, (within + 1) * CENTRES_PER_STEP)
        centres = self.ids[self.kept[epoch][rows]]
        return Window(torch.from_numpy(centres), torch.from_numpy(contexts[rows]),
                      torch.from_numpy(mask[rows].astype(np.float32)))

    def progress(self, step: int) -> float:
        """Share of all training done before `step`: what the learning rate's linear decay reads."""
        return step / max(self.total_steps, 1)
