"""One word-vector model: input vectors (the word vectors that are kept), output vectors (what a context
is predicted with), its own generator for negatives, and how it turns the step's windows into examples.

Initial vectors follow word2vec: input vectors uniform in +-0.5/dim, output vectors 0 (so every logit starts
at 0 and the loss at (k + 1) log 2).
"""

from __future__ import annotations

import torch

from engine.words.batches import Window
from engine.words.config import WordsConfig
from engine.words.sgns import StepResult, sgd_step
from engine.words.vocab import NoiseSampler

LR_FLOOR = 1e-4  # the learning rate falls linearly from lr to lr x LR_FLOOR, as in word2vec


class WordModel:
    def __init__(self, config: WordsConfig, vocab_size: int, noise: NoiseSampler):
        self.config = config
        self.noise = noise
        init = torch.Generator().manual_seed(config.seed * 2 + 1)
        self.w_in = (torch.rand(vocab_size, config.dim, generator=init) - 0.5) / config.dim
        self.w_out = torch.zeros(vocab_size, config.dim)
        self.negatives = torch.Generator().manual_seed(config.seed * 2 + 2)

    def learning_rate(self, progress: float) -> float:
        return self.config.lr * max(LR_FLOOR, 1.0 - progress)

    def examples(self, window: Window) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(inputs [n, c], input mask [n, c], targets [n]) of the step for this model."""
        if self.config.model == "skipgram":
            rows, cols = torch.nonzero(window.mask, as_tuple=True)  # one pair per context word, centre by centre
            inputs = window.centres[rows].unsqueeze(1)
            return inputs, torch.ones(len(rows), 1), window.contexts[rows, cols]
        has_context = window.mask.sum(1) > 0
        return window.contexts[has_context], window.mask[has_context], window.centres[has_context]

    def step(self, window: Window, progress: float) -> StepResult:
        inputs, mask, targets = self.examples(window)
        negatives = self.noise.draw((len(targets), self.config.negatives), self.negatives)
        return sgd_step(self.w_in, self.w_out, inputs, mask, targets, negatives, self.learning_rate(progress))

    def unit_vectors(self) -> torch.Tensor:
        return self.w_in / self.w_in.norm(dim=1, keepdim=True).clamp(min=1e-12)
