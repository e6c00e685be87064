"""The map: a 2-D picture of word vectors that holds still while they train.

PCA of the unit-length input vectors gives the plane of most spread. Between frames the principal axes may
swap, flip sign or turn, so each new frame is rotated (or reflected) onto the last one by orthogonal
Procrustes on the words they share: only real movement of the words shows, never a flip of the whole map.
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import orthogonal_procrustes


def pca_2d(vectors: np.ndarray) -> tuple[np.ndarray, float]:
    """(coordinates [n, 2], share of the variance they show) of the unit vectors, centred."""
    unit = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    centred = unit - unit.mean(0)
    _, singular, basis = np.linalg.svd(centred, full_matrices=False)
    total = float((singular ** 2).sum())
    shown = float((singular[:2] ** 2).sum() / total) if total > 0 else 0.0
    coords = centred @ basis[:2].T
    if coords.shape[1] < 2:
        coords = np.pad(coords, ((0, 0), (0, 2 - coords.shape[1])))
    return coords, shown


def align(coords: np.ndarray, previous: np.ndarray | None) -> np.ndarray:
    """`coords` turned (or mirrored) to sit as close as possible to `previous` (same rows); as it is
    without a previous frame, or when either frame is all zeros."""
    if previous is None or previous.shape != coords.shape or not np.any(coords) or not np.any(previous):
        return coords
    rotation, _ = orthogonal_procrustes(coords, previous)
    return coords @ rotation
