"""Tidy pandas tables from snapshots: `scalars`, `layers`, `hists`, with DESIGN.md's columns.

Built with numpy broadcasting per snapshot and run, never per row, so a full history (a few hundred
snapshots of a 50-layer group) still turns into tables in well under a second.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from engine.history import SCALARS, Snapshot
from engine.probes import STATS

SCALAR_COLUMNS = ["run", "step", "split", "metric", "value"]
LAYER_COLUMNS = ["run", "step", "layer", "stat", "value"]
HIST_COLUMNS = ["run", "step", "layer", "kind", "lo", "hi", "count"]


def layer_names(depth: int) -> list[str]:
    return [f"h{i}" for i in range(1, depth + 1)] + ["out"]


def scalars_table(snapshots: Sequence[Snapshot]) -> pd.DataFrame:
    parts = []
    splits = np.array([s for s, _ in SCALARS], dtype=object)
    metrics = np.array([m for _, m in SCALARS], dtype=object)
    for snap in snapshots:
        n_runs = len(snap.runs)
        if not n_runs:
            continue
        parts.append(pd.DataFrame({
            "run": np.repeat(np.array(snap.runs, dtype=object), len(SCALARS)),
            "step": snap.step,
            "split": np.tile(splits, n_runs),
            "metric": np.tile(metrics, n_runs),
            "value": snap.scalars.reshape(-1),
        }))
    table = _concat(parts, SCALAR_COLUMNS)
    return table[table["value"].notna()].reset_index(drop=True)  # regression has no accuracy


def layers_table(snapshots: Sequence[Snapshot]) -> pd.DataFrame:
    parts = []
    stats = np.array(STATS, dtype=object)
    for snap in snapshots:
        for run, values in zip(snap.runs, snap.layers):
            n_layers = values.shape[0]
            parts.append(pd.DataFrame({
                "run": run,
                "step": snap.step,
                "layer": np.repeat(np.array(layer_names(n_layers - 1), dtype=object), len(STATS)),
                "stat": np.tile(stats, n_layers),
                "value": values.reshape(-1).astype(np.float64),
            }))
    table = _concat(parts, LAYER_COLUMNS)
    return table[table["value"].notna()].reset_index(drop=True)  # out has no activation stats


def hists_table(snapshots: Sequence[Snapshot], ranges: dict[str, dict[str, np.ndarray]]) -> pd.DataFrame:
    """One row per bin. The grad histogram's extra last row counts exact zeros (lo = hi = -inf)."""
    parts = []
    for snap in snapshots:
        for run, kinds in zip(snap.runs, snap.hists):
            for kind, counts in kinds.items():
                n_layers, n_slots = counts.shape
                if not n_layers:
                    continue
                edges = ranges[run][kind]  # [layers, 2]
                bins = n_slots - 1 if kind == "grad" else n_slots
                fractions = np.linspace(0, 1, bins + 1)
                lo = edges[:, :1] + (edges[:, 1:] - edges[:, :1]) * fractions[:-1]
                hi = edges[:, :1] + (edges[:, 1:] - edges[:, :1]) * fractions[1:]
                if kind == "grad":
                    zero = np.full((n_layers, 1), -np.inf)
                    lo, hi = np.hstack([lo, zero]), np.hstack([hi, zero])
                parts.append(pd.DataFrame({
                    "run": run,
                    "step": snap.step,
                    "layer": np.repeat(np.array(layer_names(n_layers)[:-1], dtype=object), n_slots),
                    "kind": kind,
                    "lo": lo.reshape(-1),
                    "hi": hi.reshape(-1),
                    "count": counts.reshape(-1),
                }))
    return _concat(parts, HIST_COLUMNS)


def _concat(parts: list[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=object if c in ("run", "split", "metric", "layer", "stat", "kind")
                                          else float) for c in columns})
    return pd.concat(parts, ignore_index=True)[columns]
