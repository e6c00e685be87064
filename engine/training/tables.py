"""Tidy pandas tables from snapshots: `scalars`, `layers`, `hists`, with ARCHITECTURE.md's columns.

Built with numpy broadcasting per snapshot and run, never per row, so a full history (a few hundred
snapshots of a 50-layer group) still turns into tables in well under a second. The text columns
(run, split, metric, layer, stat, kind) are pandas categoricals made from integer codes: building
hundreds of thousands of strings costs more than everything else together, and the values, the
comparisons and the CSV files are the same.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from engine.training.history import SCALARS, Snapshot
from engine.training.probes import STATS
from engine.vocabulary.layers import layer_names

SCALAR_COLUMNS = ["run", "step", "split", "metric", "value"]
LAYER_COLUMNS = ["run", "step", "layer", "stat", "value"]
HIST_COLUMNS = ["run", "step", "layer", "kind", "lo", "hi", "count"]
TEXT_COLUMNS = ("run", "split", "metric", "layer", "stat", "kind")


class _Names:
    """Integer codes for text values, in order of first use: the categories of a categorical column."""

    def __init__(self, first: Sequence[str] = ()):
        self.names: list[str] = []
        self.codes: dict[str, int] = {}
        for name in first:
            self.code(name)

    def code(self, name: str) -> int:
        if name not in self.codes:
            self.codes[name] = len(self.names)
            self.names.append(name)
        return self.codes[name]

    def column(self, codes: list[np.ndarray] | np.ndarray) -> pd.Categorical:
        joined = np.concatenate(codes) if isinstance(codes, list) else codes
        return pd.Categorical.from_codes(joined, categories=self.names)


def scalars_table(snapshots: Sequence[Snapshot]) -> pd.DataFrame:
    run_names = _Names()
    runs, steps, values = [], [], []
    for snap in snapshots:
        if snap.runs:
            codes = np.array([run_names.code(r) for r in snap.runs], dtype=np.int32)
            runs.append(np.repeat(codes, len(SCALARS)))
            steps.append(np.full(len(snap.runs) * len(SCALARS), snap.step))
            values.append(snap.scalars.reshape(-1))
    if not runs:
        return _empty(SCALAR_COLUMNS)
    n_rows = sum(len(r) for r in runs) // len(SCALARS)
    splits, metrics = _Names(s for s, _ in SCALARS), _Names(m for _, m in SCALARS)
    table = pd.DataFrame({
        "run": run_names.column(runs),
        "step": np.concatenate(steps),
        "split": splits.column(np.tile([splits.codes[s] for s, _ in SCALARS], n_rows)),
        "metric": metrics.column(np.tile([metrics.codes[m] for _, m in SCALARS], n_rows)),
        "value": np.concatenate(values),
    })
    return table[table["value"].notna()].reset_index(drop=True)  # regression has no accuracy


def layers_table(snapshots: Sequence[Snapshot]) -> pd.DataFrame:
    run_names, layer_codes = _Names(), _Names()
    runs, steps, layers, values = [], [], [], []
    names_of: dict[int, np.ndarray] = {}
    for snap in snapshots:
        for run, stats in zip(snap.runs, snap.layers):
            n_layers = stats.shape[0]
            if n_layers not in names_of:
                codes = [layer_codes.code(name) for name in layer_names(n_layers - 1)]
                names_of[n_layers] = np.repeat(np.array(codes, dtype=np.int32), len(STATS))
            runs.append(np.full(stats.size, run_names.code(run), dtype=np.int32))
            steps.append(np.full(stats.size, snap.step))
            layers.append(names_of[n_layers])
            values.append(stats.reshape(-1).astype(np.float64))
    if not runs:
        return _empty(LAYER_COLUMNS)
    n_rows = sum(len(v) for v in values) // len(STATS)
    table = pd.DataFrame({
        "run": run_names.column(runs),
        "step": np.concatenate(steps),
        "layer": layer_codes.column(layers),
        "stat": _Names(STATS).column(np.tile(np.arange(len(STATS), dtype=np.int32), n_rows)),
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
    names = {"run": _Names(), "layer": _Names(), "kind": _Names()}
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
                    layer_codes = [names["layer"].code(name) for name in layer_names(n_layers)[:-1]]
                    fixed[key] = (np.full(lo.size, names["run"].code(run), dtype=np.int32),
                                  np.repeat(np.array(layer_codes, dtype=np.int32), n_slots),
                                  np.full(lo.size, names["kind"].code(kind), dtype=np.int32), lo, hi)
                run_column, layer_column, kind_column, lo, hi = fixed[key]
                columns["run"].append(run_column)
                columns["step"].append(np.full(lo.size, snap.step))
                columns["layer"].append(layer_column)
                columns["kind"].append(kind_column)
                columns["lo"].append(lo)
                columns["hi"].append(hi)
                columns["count"].append(counts.reshape(-1))
    if not columns["run"]:
        return _empty(HIST_COLUMNS)
    return pd.DataFrame({c: names[c].column(parts) if c in names else np.concatenate(parts)
                         for c, parts in columns.items()})


def _empty(columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object if c in TEXT_COLUMNS else float) for c in columns})
