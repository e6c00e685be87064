"""Random draws for pre-training, one generator per run: a run pre-trains alike alone or inside a group.

Each run's generator is seeded from its `seed` (offset so it never repeats the streams of the initial weights,
the batch order or dropout), and every draw for a batch of K runs is K draws, one from each run's generator.
"""

from __future__ import annotations

import torch

SEED_OFFSET = 104_729  # a prime apart from dropout's 7,919 (engine/nets/stack.py)


class RunNoise:
    def __init__(self, seeds: list[int]):
        self.generators = [torch.Generator().manual_seed(seed + SEED_OFFSET) for seed in seeds]

    def permutations(self, n: int) -> torch.Tensor:
        """[K, n]: each run's own shuffle of n points."""
        return torch.stack([torch.randperm(n, generator=g) for g in self.generators])

    def uniform(self, *shape: int) -> torch.Tensor:
        """[K, *shape] uniform in [0, 1)."""
        return torch.stack([torch.rand(shape, generator=g) for g in self.generators])

    def normal(self, *shape: int) -> torch.Tensor:
        """[K, *shape] standard normal."""
        return torch.stack([torch.randn(shape, generator=g) for g in self.generators])

    def bernoulli(self, p: torch.Tensor) -> torch.Tensor:
        """0/1 samples with probabilities p [K, ...]."""
        return (self.uniform(*p.shape[1:]) < p).to(p.dtype)
