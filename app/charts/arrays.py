"""The engine's tidy tables read into numpy arrays, once per table, and the small array helpers of every
chart (layers in depth order, evenly thinned steps and picked layers, gaps for NaN and inf).

Tables are read once each: the layers table into integer codes (run, layer in depth order, stat), the
hists table into one HistCube per (run, kind), vectorised through numpy and Arrow, never a pandas pivot
per layer. What was read is remembered for the last few table objects, by identity, so the nine charts
of a page read each table once. Tables therefore count as immutable, as the engine makes them: build
new ones rather than editing one in place (a table that grows is read again).
"""

from __future__ import annotations

import math
import threading
import weakref
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

try:  # Arrow-backed string columns (pandas' default) compare several times faster through pyarrow.
    import pyarrow as pa
    import pyarrow.compute as pc
except ImportError:  # pragma: no cover - pandas works without it, only slower
    pa = pc = None

from engine.lessons.charts import flat_stat
from engine.vocabulary.layers import depth_key


def depth_order(layers: Iterable[str]) -> list[str]:
    """The distinct layer names in depth order."""
    return sorted({str(x) for x in layers}, key=depth_key)  # h1, h2, ..., h10, out: numerically, not as text


def thin(n: int, cap: int) -> np.ndarray:
    """At most `cap` evenly spaced indices of range(n), the first and the last always included."""
    if n <= cap:
        return np.arange(n)
    stride = math.ceil((n - 1) / max(1, cap - 1))
    index = np.arange(0, n, stride)
    if index[-1] != n - 1:
        index = np.append(index, n - 1)
    return index


def pick(n: int, cap: int) -> np.ndarray:
    """At most `cap` evenly spread indices of range(n), first and last kept (layers to show)."""
    if n <= cap:
        return np.arange(n)
    return np.unique(np.round(np.linspace(0, n - 1, cap)).astype(int))


def finite(values: np.ndarray, positive: bool = False) -> np.ndarray:
    """NaN where a line cannot go: inf and NaN, and for log axes anything not above zero."""
    out = np.asarray(values, dtype=np.float64)
    bad = ~np.isfinite(out)
    if positive:
        bad |= out <= 0
    if bad.any():
        out = np.where(bad, np.nan, out)
    return out


def eq(table: pd.DataFrame, column: str, value: str) -> np.ndarray:
    """Boolean mask table[column] == value, fast for categoricals (the engine's) and Arrow strings."""
    series = table[column]
    if isinstance(series.dtype, pd.CategoricalDtype):
        categories = list(series.cat.categories)
        if value not in categories:
            return np.zeros(len(series), dtype=bool)
        return series.cat.codes.to_numpy() == categories.index(value)
    arrow = _arrow(table, column)
    if arrow is not None:
        return pc.fill_null(pc.equal(arrow, value), False).to_numpy(zero_copy_only=False)
    return (series == value).fillna(False).to_numpy(dtype=bool)


def is_empty(table: pd.DataFrame | None) -> bool:
    return table is None or len(table) == 0


_MEMO: OrderedDict[tuple[int, str], tuple[weakref.ref, int, Any]] = OrderedDict()
_MEMO_SIZE = 32  # entries: a table's columns and readings; a table's own vanish with it
_MEMO_LOCK = threading.Lock()


def _memo(table: pd.DataFrame, key: str, read: Any) -> Any:
    """read(table), remembered per (table object, key) while the table lives and keeps its length."""
    slot = (id(table), key)
    with _MEMO_LOCK:
        hit = _MEMO.get(slot)
    if hit is not None and hit[0]() is table and hit[1] == len(table):
        return hit[2]
    value = read(table)
    ref = weakref.ref(table, lambda _, slot=slot: _MEMO.pop(slot, None))  # forget a table once it is gone
    with _MEMO_LOCK:
        _MEMO[slot] = (ref, len(table), value)
        _MEMO.move_to_end(slot)
        while len(_MEMO) > _MEMO_SIZE:
            _MEMO.popitem(last=False)
    return value


def _arrow(table: pd.DataFrame, column: str) -> Any:
    """The column as one contiguous Arrow array, or None when it is not Arrow-backed. Remembered per
    table: the engine's tables come out of pd.concat with one chunk per part (hundreds), and every
    Arrow operation on them would otherwise pay to stitch the chunks together again."""
    if pc is None:
        return None
    series = table[column]
    dtype = series.dtype
    if not (isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow"):
        return None

    def read(t: pd.DataFrame) -> Any:
        array = t[column].array.__arrow_array__()
        return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array

    return _memo(table, f"arrow:{column}", read)


def codes_at(table: pd.DataFrame, column: str, rows: np.ndarray | None = None) -> tuple[np.ndarray, list[str]]:
    """table[column][rows] (or the whole column) factorized: (integer codes, the distinct values as
    str). Categoricals and Arrow strings are read as codes, never turned into Python objects."""
    series = table[column]
    if isinstance(series.dtype, pd.CategoricalDtype):
        codes = series.cat.codes.to_numpy()
        taken = (codes if rows is None else codes[rows]).astype(np.int64)
        used = np.flatnonzero(np.bincount(taken[taken >= 0], minlength=len(series.cat.categories)))
        remap = np.full(len(series.cat.categories), -1, dtype=np.int64)
        remap[used] = np.arange(len(used))  # only the values present, numbered as factorize would
        return remap[taken], [str(series.cat.categories[i]) for i in used]
    arrow = _arrow(table, column)
    if arrow is not None:
        taken = arrow if rows is None else arrow.take(pa.array(rows))
        encoded = taken.dictionary_encode()
        codes = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
        return codes, [str(x) for x in encoded.dictionary.to_pylist()]
    values = series.to_numpy(dtype=object) if rows is None else series.iloc[rows].to_numpy(dtype=object)
    codes, uniques = pd.factorize(values)
    return codes.astype(np.int64), [str(x) for x in uniques]


def ranked(codes: np.ndarray, names: list[str], key: Any = None) -> tuple[np.ndarray, list[str]]:
    """Codes renumbered so that the names come in sorted order (by `key`)."""
    order = sorted(range(len(names)), key=lambda i: key(names[i]) if key else names[i])
    rank = np.empty(len(names), dtype=np.int64)
    rank[order] = np.arange(len(names))
    return rank[codes], [names[i] for i in order]


@dataclass
class _LayerIndex:
    runs: list[str]  # a, b, c, d
    layers: list[str]  # depth order
    stats: list[str]
    run: np.ndarray  # codes per row
    layer: np.ndarray
    stat: np.ndarray
    step: np.ndarray
    value: np.ndarray


def _read_layers(layers: pd.DataFrame) -> _LayerIndex:
    run, runs = ranked(*codes_at(layers, "run"))
    layer, names = ranked(*codes_at(layers, "layer"), key=depth_key)
    stat, stats = codes_at(layers, "stat")
    return _LayerIndex(runs, names, stats, run, layer, stat, layers["step"].to_numpy(),
                       layers["value"].to_numpy(dtype=np.float64))


@dataclass
class StatSeries:
    """One stat of the layers table, grouped: rows sorted by run, then layer (depth order), then step."""

    runs: list[str]
    layers: list[str]  # depth order
    run_code: np.ndarray
    layer_code: np.ndarray
    step: np.ndarray
    value: np.ndarray

    def groups(self) -> list[tuple[str, str, slice]]:
        """(run, layer, rows) for every present pair, runs in order, layers in depth order."""
        if not len(self.step):
            return []
        key = self.run_code * len(self.layers) + self.layer_code
        cuts = np.flatnonzero(np.diff(key)) + 1
        starts = np.concatenate([[0], cuts])
        ends = np.concatenate([cuts, [len(key)]])
        return [(self.runs[self.run_code[s]], self.layers[self.layer_code[s]], slice(s, e))
                for s, e in zip(starts, ends)]

    def present_layers(self) -> list[str]:
        return [self.layers[i] for i in np.unique(self.layer_code)]


def stat_series(layers: pd.DataFrame | None, stat: str, run: str | None = None) -> StatSeries | None:
    if is_empty(layers):
        return None
    index: _LayerIndex = _memo(layers, "layers", _read_layers)
    if stat not in index.stats or (run is not None and run not in index.runs):
        return None
    mask = index.stat == index.stats.index(stat)
    if run is not None:
        mask &= index.run == index.runs.index(run)
    rows = np.flatnonzero(mask)
    if not len(rows):
        return None
    run_code, layer_code, step = index.run[rows], index.layer[rows], index.step[rows]
    order = np.lexsort((step, layer_code, run_code))
    return StatSeries(index.runs, index.layers, run_code[order], layer_code[order], step[order],
                      index.value[rows][order])


FLAT_FRACTIONS = ("saturated_frac", "inactive_frac")  # a run reports the one its activation has, if any


def flat_runs(layers: pd.DataFrame | None, activations: Mapping[str, str] | None = None,
              run: str | None = None) -> dict[str, list[str]]:
    """saturated_frac and inactive_frac -> the runs (or just `run`) that report it, left out where the table
    has none. With `activations` (run id -> activation), a run counts only under the stat its activation has
    (engine/lessons/charts.py's flat_stat): a ReLU run is never drawn as saturated, a linear one under neither."""
    out = {}
    for stat in FLAT_FRACTIONS:
        series = stat_series(layers, stat, run)
        runs = sorted({r for r, _, _ in series.groups()}) if series is not None else []
        if activations is not None:
            runs = [r for r in runs if r not in activations or flat_stat(activations[r]) == stat]
        if runs:
            out[stat] = runs
    return out


@dataclass
class HistCube:
    """One run's histograms of one kind as arrays: counts [steps, layers, bins], edges per layer."""

    run: str
    kind: str
    steps: np.ndarray  # [S] ascending
    layers: list[str]  # depth order
    lo: np.ndarray  # [L, B] lower bin edges of the value bins
    hi: np.ndarray  # [L, B]
    counts: np.ndarray  # [S, L, B] float32
    zeros: np.ndarray | None  # [S, L] exact zeros (kind grad), else None

    def edges(self, layer: int) -> np.ndarray:
        return np.concatenate([self.lo[layer, :1], self.hi[layer]])


def hist_cube(hists: pd.DataFrame | None, run: str, kind: str) -> HistCube | None:
    """The histograms of (run, kind) as a HistCube, or None when there are none yet. One reading of
    the table per kind serves every run (remembered: see `_memo`)."""
    if is_empty(hists):
        return None
    return _memo(hists, f"hists:{kind}", lambda table: _read_kind(table, kind)).get(run)


def _read_kind(hists: pd.DataFrame, kind: str) -> dict[str, HistCube]:
    """Every run's HistCube of one kind. Fast path: the engine writes each (step, run, layer) histogram
    as consecutive rows in bin order, so after one mask on `kind` the rows reshape into histograms and
    run and layer are read once per histogram. Tables in any other order fall back to a sort."""
    rows = np.flatnonzero(eq(hists, "kind", kind))
    if not len(rows):
        return {}
    step = hists["step"].to_numpy()[rows]
    blocks = _blocks(hists, rows, step)
    if blocks is not None:
        width, run_code, run_names, layer_code, layer_names = blocks
        matrix = rows.reshape(-1, width)  # [histograms, bins]: row numbers
    else:
        matrix, run_code, run_names, layer_code, layer_names = _sorted_rows(hists, rows)
    block_steps = hists["step"].to_numpy()[matrix[:, 0]]
    lo_col, hi_col, count_col = hists["lo"].to_numpy(), hists["hi"].to_numpy(), hists["count"].to_numpy()
    cubes = {}
    for r, run in enumerate(run_names):
        mine = run_code == r
        if not mine.any():
            continue
        m, codes = matrix[mine], layer_code[mine]
        present = np.unique(codes)
        names = depth_order(layer_names[i] for i in present)
        remap = np.zeros(len(layer_names), dtype=np.int64)
        remap[present] = [names.index(layer_names[i]) for i in present]
        block_layer = remap[codes]
        steps, block_s = np.unique(block_steps[mine], return_inverse=True)
        _, first = np.unique(block_layer, return_index=True)  # each layer's first histogram
        lo = lo_col[m[first]].astype(np.float64)  # [layers, bins]: the edges never change in a run
        hi = hi_col[m[first]].astype(np.float64)
        count = count_col[m].astype(np.float32)
        zero_slot = np.isneginf(lo[0])
        value_slots = np.flatnonzero(~zero_slot)
        value_slots = value_slots[np.argsort(lo[0, value_slots], kind="stable")]
        cube = np.zeros((len(steps), len(names), len(value_slots)), dtype=np.float32)
        cube[block_s, block_layer] = count[:, value_slots]
        zeros = None
        if zero_slot.any():
            zeros = np.zeros((len(steps), len(names)), dtype=np.float32)
            zeros[block_s, block_layer] = count[:, zero_slot].sum(axis=1)
        cubes[run] = HistCube(run, kind, steps, names, lo[:, value_slots], hi[:, value_slots], cube, zeros)
        for array in (steps, cube, zeros, cubes[run].lo, cubes[run].hi):
            if array is not None:
                array.flags.writeable = False  # shared through the memo: read-only
    return cubes


def _blocks(hists: pd.DataFrame, rows: np.ndarray, step: np.ndarray) -> tuple | None:
    """When `rows` come as whole histograms, each on consecutive rows of one step, run and layer with
    its bins in order: (bins per histogram, run code of each, run names, layer code of each, layer
    names). None otherwise."""
    head = rows[:256]
    head_runs, _ = codes_at(hists, "run", head)
    head_layers, _ = codes_at(hists, "layer", head)
    same = (head_runs == head_runs[0]) & (head_layers == head_layers[0]) & (step[: len(head)] == step[0])
    width = int(np.argmin(same)) if not same.all() else len(head)
    if width < 2 or len(rows) % width or width == 256:
        return None
    lo = hists["lo"].to_numpy()[rows].reshape(-1, width)  # each histogram's bins in order, the zero row last
    block_steps = step.reshape(-1, width)
    if not ((lo[:, 1:] > lo[:, :-1]) | np.isneginf(lo[:, 1:])).all() or (block_steps != block_steps[:, :1]).any():
        return None
    n = len(rows) // width
    ends = np.concatenate([rows[::width], rows[width - 1 :: width]])
    run_code, run_names = codes_at(hists, "run", ends)
    layer_code, layer_names = codes_at(hists, "layer", ends)
    if (run_code[:n] != run_code[n:]).any() or (layer_code[:n] != layer_code[n:]).any():
        return None
    return width, run_code[:n], run_names, layer_code[:n], layer_names


def _sorted_rows(hists: pd.DataFrame, rows: np.ndarray) -> tuple:
    """Rows of one kind in any order, sorted into histograms: ([histograms, bins] row numbers, run code
    of each, run names, layer code of each, layer names). Histograms with missing bins are left out."""
    step = hists["step"].to_numpy()[rows]
    lo = hists["lo"].to_numpy(dtype=np.float64)[rows]
    run_code, run_names = codes_at(hists, "run", rows)
    layer_code, layer_names = codes_at(hists, "layer", rows)
    order = np.lexsort((np.where(np.isneginf(lo), np.inf, lo), layer_code, run_code, step))  # zero row last
    rows, step, run_code, layer_code = rows[order], step[order], run_code[order], layer_code[order]
    change = np.concatenate([[True], (np.diff(step) != 0) | (np.diff(run_code) != 0) | (np.diff(layer_code) != 0)])
    sizes = np.diff(np.append(np.flatnonzero(change), len(rows)))
    width = int(sizes.max())
    whole = np.repeat(sizes == width, sizes)
    return (rows[whole].reshape(-1, width), run_code[whole][::width], run_names, layer_code[whole][::width],
            layer_names)


def as_cube(hists: pd.DataFrame | HistCube | None, run: str, kind: str) -> HistCube | None:
    """`hists` as the HistCube of (run, kind): a cube passes through when it is that one; a table is read."""
    if isinstance(hists, HistCube):
        return hists if hists.run == run and hists.kind == kind else None
    return hist_cube(hists, run, kind)
