"""The vocabulary of a corpus: which words get a vector, how often frequent ones are dropped, which words
are drawn as negatives.

- `min_count`: words seen fewer times get no vector and are removed from the text before windows are taken
  (as word2vec and gensim do).
- Subsampling (Mikolov et al. 2013, as in word2vec's C code and gensim): a word with frequency f (its share of
  the kept tokens) is kept with probability min(1, (sqrt(f / t) + 1) * t / f), t = `subsample`; 0 turns it off.
  With t = 1e-3, a word that is 10% of the text is kept about 13% of the time; words rarer than t always stay.
- Noise distribution: negatives are drawn with probability proportional to count^0.75, which flattens the
  unigram distribution (frequent words are drawn less than their share, rare ones more).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np
import torch

NOISE_POWER = 0.75


@dataclass(frozen=True)
class Vocab:
    words: tuple[str, ...]  # by decreasing count, ties alphabetical
    counts: np.ndarray  # int64, aligned with words

    @classmethod
    def build(cls, documents: tuple[tuple[str, ...], ...], min_count: int) -> Vocab:
        counted = Counter(word for doc in documents for word in doc)
        kept = sorted(((n, w) for w, n in counted.items() if n >= min_count), key=lambda item: (-item[0], item[1]))
        return cls(tuple(w for _, w in kept), np.array([n for n, _ in kept], dtype=np.int64))

    def __len__(self) -> int:
        return len(self.words)

    @property
    def index(self) -> dict[str, int]:
        return {word: i for i, word in enumerate(self.words)}

    def encode(self, documents: tuple[tuple[str, ...], ...]) -> tuple[np.ndarray, np.ndarray]:
        """(word ids, document id of each token) of the words in the vocabulary, in text order."""
        index = self.index
        ids, docs = [], []
        for d, doc in enumerate(documents):
            known = [index[w] for w in doc if w in index]
            ids.extend(known)
            docs.extend([d] * len(known))
        return np.array(ids, dtype=np.int64), np.array(docs, dtype=np.int64)

    def keep_probability(self, subsample: float) -> np.ndarray:
        """Per word, the chance that one of its tokens survives subsampling (1 everywhere when subsample=0)."""
        if subsample <= 0:
            return np.ones(len(self))
        ratio = subsample / (self.counts / self.counts.sum())
        return np.minimum(1.0, np.sqrt(ratio) + ratio)

    def noise_distribution(self) -> torch.Tensor:
        """P(word) for negatives: count^0.75, normalized (float64)."""
        weights = torch.from_numpy(self.counts).double() ** NOISE_POWER
        return weights / weights.sum()


class NoiseSampler:
    """Draws negatives from the noise distribution by inverting its cumulative sum: exact, and one
    `searchsorted` per batch."""

    def __init__(self, vocab: Vocab):
        self.cumulative = torch.cumsum(vocab.noise_distribution(), 0)
        self.cumulative[-1] = 1.0  # rounding must not leave a draw above the last word

    def draw(self, shape: tuple[int, ...], generator: torch.Generator) -> torch.Tensor:
        uniform = torch.rand(shape, generator=generator, dtype=torch.float64)
        return torch.searchsorted(self.cumulative, uniform, right=True).clamp_(max=len(self.cumulative) - 1)
