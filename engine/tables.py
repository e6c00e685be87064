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
    runs, steps, values = [], [], []
    for snap in snapshots:
        if snap.runs:
            runs.append(np.repeat(np.array(snap.runs, dtype=object), len(SCALARS)))
            steps.append(np.full(len(snap.runs) * len(SCALARS), snap.step))
            values.append(snap.scalars.reshape(-1))
    if not runs:
        return _concat([], SCALAR_COLUMNS)
    n_rows = sum(len(r) for r in runs) // len(SCALARS)
    table = pd.DataFrame({
        "run": np.concatenate(runs),
        "step": np.concatenate(steps),
        "split": np.tile(np.array([s for s, _ in SCALARS], dtype=object), n_rows),
        "metric": np.tile(np.array([m for _, m in SCALARS], dtype=object), n_rows),
        "value": np.concatenate(values),
    })
    return table[table["value"].notna()].reset_index(drop=True)  # regression has no accuracy


def layers_table(snapshots: Sequence[Snapshot]) -> pd.DataFrame:
    runs, steps, layers, values = [], [], [], []
    names_of: dict[int, np.ndarray] = {}
    for snap in snapshots:
        for run, stats in zip(snap.runs, snap.layers):
            n_layers = stats.shape[0]
            if n_layers not in names_of:
                names_of[n_layers] = np.repeat(np.array(layer_names(n_layers - 1), dtype=object), len(STATS))
            runs.append(np.full(stats.size, run, dtype=object))
            steps.append(np.full(stats.size, snap.step))
            layers.append(names_of[n_layers])
            values.append(stats.reshape(-1).astype(np.float64))
    if not runs:
        return _concat([], LAYER_COLUMNS)
    table = pd.DataFrame({
        "run": np.concatenate(runs),
        "step": np.concatenate(steps),
        "layer": np.concatenate(layers),
        "stat": np.tile(np.array(STATS, dtype=object), sum(len(v) for v in values) // len(STATS)),
        "value": np.concatenate(values),
    })
    return table[table["value"].notna()].reset_index(drop=True)  # out has no activation stats


def _bin_edges(edges: np.ndarray, kind: str, n_slots: int) -> tuple[np.ndarray, np.ndarray]:
    """lo and hi of every bin slot [layers * slots] from the per-layer range [layers, 2]."""
    n_layers = edges.shape[0]
    bins = n_slots - 1 if kind == "grad" else n_slots
    fractions = np.linspace(0, 1, bins + 1)
    lo = edges[:, :1] + (edges[:, 1:] - edges[:, :1]) * fractions[:-1]
    hi = edges[:, :1] + (edges[:, 1:] - edges[:, :1]) * fractions[1:]
    if kind == "grad":
        zero = np.full((n_layers, 1), -np.inf)
        lo, hi = np.hstack([lo, zero]), np.hstack([hi, zero])
    return lo.reshape(-1), hi.reshape(-1)


def hists_table(snapshots: Sequence[Snapshot], ranges: dict[str, dict[str, np.ndarray]]) -> pd.DataFrame:
    """One row per bin. The grad histogram's extra last row counts exact zeros (lo = hi = -inf).
    Bin edges never change during a run, so they are computed once per (run, kind) and repeated."""
    columns: dict[str, list[np.ndarray]] = {c: [] for c in HIST_COLUMNS}
    fixed: dict[tuple[str, str, int, int], tuple[np.ndarray, ...]] = {}
    for snap in snapshots:
        for run, kinds in zip(snap.runs, snap.hists):
            for kind, counts in kinds.items():
                n_layers, n_slots = counts.shape
                if not n_layers:
                    continue
                key = (run, kind, n_layers, n_slots)
                if key not in fixed:
                    lo, hi = _bin_edges(ranges[run][kind], kind, n_slots)
                    names = np.repeat(np.array(layer_names(n_layers)[:-1], dtype=object), n_slots)
                    fixed[key] = (np.full(lo.size, run, dtype=object), names, np.full(lo.size, kind, dtype=object),
                                  lo, hi)
                run_column, names, kind_column, lo, hi = fixed[key]
                columns["run"].append(run_column)
                columns["step"].append(np.full(lo.size, snap.step))
                columns["layer"].append(names)
                columns["kind"].append(kind_column)
                columns["lo"].append(lo)
                columns["hi"].append(hi)
                columns["count"].append(counts.reshape(-1))
    if not columns["run"]:
        return _concat([], HIST_COLUMNS)
    return pd.DataFrame({c: np.concatenate(parts) for c, parts in columns.items()})


def _concat(parts: list[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=object if c in ("run", "split", "metric", "layer", "stat", "kind")
                                          else float) for c in columns})
    return pd.concat(parts, ignore_index=True)[columns]
