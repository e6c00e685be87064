"""Snapshots (what one probe step measured) and the bounded history that keeps them.

A snapshot is a few KB of numpy: it is what crosses from a worker process to the page. The history
keeps at most `capacity` evenly spaced snapshots (fewer for very deep groups, to stay within
MEMORY_BUDGET): when full, every other one is dropped and the
stride doubles, so memory stays flat however long a run trains. The latest snapshot is always kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

DEFAULT_CAPACITY = 256
# Deep groups have bigger snapshots (four 50-layer runs: ~80 KB); they keep fewer points, not more memory.
MEMORY_BUDGET = 16 * 2**20
MIN_CAPACITY = 64
# Columns of Snapshot.scalars, as (split, metric) pairs.
SCALARS = (("train", "loss"), ("train", "accuracy"), ("val", "loss"), ("val", "accuracy"),
           ("train", "grad_norm"), ("train", "lr"))


@dataclass
class Snapshot:
    step: int
    runs: list[str]  # run ids measured at this step (runs that ended earlier are absent)
    scalars: np.ndarray  # float64 [len(runs), len(SCALARS)]
    layers: list[np.ndarray]  # per run: float32 [layers incl. out, len(STATS)]
    hists: list[dict[str, np.ndarray]]  # per run: kind -> int32 [hidden layers, bins]

    def nbytes(self) -> int:
        total = self.scalars.nbytes + sum(a.nbytes for a in self.layers)
        return total + sum(a.nbytes for h in self.hists for a in h.values())


@dataclass
class History:
    capacity: int = DEFAULT_CAPACITY
    stride: int = 1
    seen: int = 0
    points: list[Snapshot] = field(default_factory=list)
    latest: Snapshot | None = None

    def keeps(self, index: int) -> bool:
        """Would the probe with this index (step // probe_every) be kept as a point?"""
        return index % self.stride == 0

    def add(self, snapshot: Snapshot, index: int | None) -> None:
        """Add the probe with this index on the probe grid (step // probe_every), or with None one off
        the grid (the last step of a run that is no multiple of probe_every): that one is only `latest`.
        Points stay at consecutive multiples of the stride, so halving keeps them evenly spaced."""
        self.latest = snapshot
        if index is None:
            return
        if self.keeps(index):
            if not self.points:
                fitting = MEMORY_BUDGET // max(1, snapshot.nbytes())
                self.capacity = min(self.capacity, max(MIN_CAPACITY, fitting))
            self.points.append(snapshot)
            if len(self.points) > self.capacity:
                self.points = self.points[::2]
                self.stride *= 2
        self.seen = index + 1

    def snapshots(self) -> list[Snapshot]:
        if self.latest is not None and (not self.points or self.points[-1] is not self.latest):
            return [*self.points, self.latest]
        return list(self.points)

    def nbytes(self) -> int:
        return sum(s.nbytes() for s in self.snapshots())
