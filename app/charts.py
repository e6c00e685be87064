"""Chart builders: pure functions from the engine's tidy tables to Plotly figures.

No Streamlit here, so every chart is testable without a server. Each builder takes the tables
(`scalars`, `layers`, `hists`; see engine/training/tables.py), a `Prediction`, or dataset arrays, and returns a
`plotly.graph_objects.Figure`. An empty table gives an empty figure that says "Waiting for data";
NaN and inf (diverged runs) become gaps, never exceptions.

Figures stay cheap to build and to send: at most a few hundred points per line, at most MAX_PANELS
heatmap panels and MAX_LINES lines per panel (evenly picked layers, first and last always kept),
heatmaps thinned to MAX_COLUMNS steps. Layers are always in depth order (h1, h2, ..., h10, out).
Runs keep one colour everywhere (`run_color`); lines of one run's layers are shades of it, light
near the input and dark near the output.

Speed: each table is read once into arrays (vectorised numpy and Arrow, never a pandas pivot per
layer) and what was read is remembered per table object, so the charts of one page share one
reading. Tables therefore count as immutable: build new ones rather than editing one in place.
Figures are assembled from plain dicts without Plotly's per-property validation (the tests validate
every figure instead); subplot grids come from `make_subplots`, cached per shape.
"""

from __future__ import annotations

import copy
import math
import threading
import weakref
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import plotly.colors as pc_colors
import plotly.graph_objects as go
from plotly.subplots import make_subplots

try:  # Arrow-backed string columns (pandas' default) compare several times faster through pyarrow.
    import pyarrow as pa
    import pyarrow.compute as pc
except ImportError:  # pragma: no cover - pandas works without it, only slower
    pa = pc = None

if TYPE_CHECKING:
    from engine.training.predictions import Prediction

# ---------------------------------------------------------------------------------------- constants

RUN_COLORS = {"a": "#0072B2", "b": "#D55E00", "c": "#009E73", "d": "#CC79A7"}  # Okabe-Ito: colour-blind safe
EXTRA_COLORS = ("#E69F00", "#56B4E9", "#6B6B6B", "#F0E442")
CLASS_COLORS = ("#B2182B", "#2166AC")  # class 0 / class 1: the two ends of the boundary's colour scale
CLASS_PALETTE = ("#B2182B", "#2166AC", "#1B7837", "#762A83", "#E08214", "#35978F", "#8C510A", "#C51B7D",
                 "#4D4D4D", "#BF812D")
# Explicit colour lists: plotly.js's own "RdBu" and "Blues" run the other way and have a grey middle.
BOUNDARY_SCALE = [[i / (len(pc_colors.diverging.RdBu) - 1), c]  # red = class 0, white = 0.5, blue = class 1
                  for i, c in enumerate(pc_colors.diverging.RdBu)]
COUNT_SCALE = [[i / (len(pc_colors.sequential.Blues) - 1), c]  # white = none, dark blue = many
               for i, c in enumerate(pc_colors.sequential.Blues)]
REFERENCE_UPDATE_RATIO = 1e-3
WAITING = "Waiting for data…"

MAX_PANELS = 12  # histogram heatmap panels per figure
MAX_GRID_ROWS = 8  # layers (rows) of a side-by-side histogram grid
MAX_COLUMNS = 64  # steps per heatmap panel
MAX_LINES = 24  # lines per panel of a per-layer time chart (all runs together)
MAX_PROFILE_LAYERS = 24  # violins in a depth profile
LINE_POINT_BUDGET = 4000  # points of all lines of one figure together ...
MAX_TRACE_POINTS = 300  # ... and of one line
MIN_TRACE_POINTS = 40
MAX_TRAIN_POINTS = 600  # dataset points drawn over a prediction
MAX_VAL_POINTS = 300
PANEL_HEIGHT = 72  # px per histogram heatmap panel
ZERO_STRIP = 3  # the grad heatmap's "exact zero" strip is this many bins tall
LOG_COUNT_STEPS = 36  # heatmap colour codes per decade of count: a bin of 4 M counts still fits a byte

_FONT = "#2a3f5f"
_GRID = "#E5E9F0"
_TEMPLATE = {  # the parts of plotly_white used here, without its 7 KB of trace defaults (9 ms per figure)
    "layout": {
        "font": {"color": _FONT, "size": 12},
        "paper_bgcolor": "white",
        "plot_bgcolor": "white",
        "hovermode": "closest",
        "hoverlabel": {"align": "left"},
        "xaxis": {"gridcolor": _GRID, "linecolor": _GRID, "zerolinecolor": _GRID, "ticks": "", "automargin": True},
        "yaxis": {"gridcolor": _GRID, "linecolor": _GRID, "zerolinecolor": _GRID, "ticks": "", "automargin": True},
        "coloraxis": {"colorbar": {"outlinewidth": 0, "ticks": "", "thickness": 12}},
        "annotationdefaults": {"arrowhead": 0, "arrowwidth": 1},
    }
}
_MARGIN = {"l": 10, "r": 10, "t": 30, "b": 10}
_LEGEND = {"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "left", "x": 0, "font": {"size": 11}}

# ------------------------------------------------------------------------------------- small helpers


def run_color(run_id: str) -> str:
    """The run's colour, the same in every chart: a blue, b vermillion, c green, d purple."""
    if run_id in RUN_COLORS:
        return RUN_COLORS[run_id]
    return EXTRA_COLORS[sum(map(ord, str(run_id))) % len(EXTRA_COLORS)]


def run_label(run_id: str, labels: Mapping[str, str] | None = None) -> str:
    return str((labels or {}).get(run_id) or run_id)


def depth_key(layer: str) -> tuple[int, int, str]:
    """Sort key for layer names in depth order: h1, h2, ..., h10, ..., out (numerically, not as text)."""
    name = str(layer)
    if name.startswith("h") and name[1:].isdigit():
        return (0, int(name[1:]), name)
    if name == "out":
        return (1, 0, name)
    return (2, 0, name)


def depth_order(layers: Iterable[str]) -> list[str]:
    return sorted({str(x) for x in layers}, key=depth_key)


def waiting_figure(message: str = WAITING, height: int = 260) -> go.Figure:
    """An empty figure that says so: for runs that have not reported anything yet."""
    layout = {
        "height": height,
        "xaxis": {"visible": False},
        "yaxis": {"visible": False},
        "annotations": [{"text": message, "xref": "paper", "yref": "paper", "x": 0.5, "y": 0.5,
                         "showarrow": False, "font": {"size": 14, "color": "#888888"}}],
    }
    return _figure([], layout)


def _figure(traces: list[dict], layout: dict) -> go.Figure:
    """A figure from plain dicts, unvalidated: validation costs ~0.25 ms per trace and the tests do it."""
    full = {"template": _TEMPLATE, "margin": _MARGIN, "uirevision": "keep", **layout}
    try:
        return go.Figure(data=traces, layout=full, _validate=False)
    except TypeError:  # pragma: no cover - a Plotly without the private switch
        return go.Figure(data=traces, layout=full)


@lru_cache(maxsize=64)
def _grid_cached(rows: int, cols: int, shared_xaxes: bool, vertical_spacing: float | None,
                 horizontal_spacing: float | None) -> dict:
    fig = make_subplots(rows=rows, cols=cols, shared_xaxes=shared_xaxes, vertical_spacing=vertical_spacing,
                        horizontal_spacing=horizontal_spacing)
    layout = fig.layout.to_plotly_json()
    layout.pop("template", None)
    return layout


def _grid(rows: int, cols: int = 1, shared_xaxes: bool = False, vertical_spacing: float | None = None,
          horizontal_spacing: float | None = None) -> dict:
    """make_subplots' axis layout (cached: it costs ~20 ms per call), as a fresh dict to fill in."""
    return copy.deepcopy(_grid_cached(rows, cols, shared_xaxes, vertical_spacing, horizontal_spacing))


def _stack(rows: int, vertical_spacing: float | None = None) -> dict:
    """Panels stacked in one column on ONE shared x axis (at the bottom): make_subplots' row domains,
    without its per-row x axes, which cost ~0.3 ms each to build and serialize."""
    grid = _grid_cached(rows, 1, True, vertical_spacing, None)
    layout: dict[str, Any] = {"xaxis": {"domain": [0.0, 1.0], "anchor": _axis_ids(rows, 1, 1)[1]}}
    for row in range(1, rows + 1):
        yref = _axis_ids(row, 1, 1)[1]
        layout[_axis_key(yref)] = {"domain": list(grid[_axis_key(yref)]["domain"]), "anchor": "x"}
    return layout


def _axis_ids(row: int, col: int, cols: int) -> tuple[str, str]:
    """Trace axis references ('x3', 'y3') of a make_subplots cell (rows and columns from 1)."""
    n = (row - 1) * cols + col
    suffix = "" if n == 1 else str(n)
    return "x" + suffix, "y" + suffix


def _axis_key(ref: str) -> str:
    """Layout key of an axis reference: 'x3' -> 'xaxis3', 'y' -> 'yaxis'."""
    return ref[0] + "axis" + ref[1:]


def _thin(n: int, cap: int) -> np.ndarray:
    """At most `cap` evenly spaced indices of range(n), the first and the last always included."""
    if n <= cap:
        return np.arange(n)
    stride = math.ceil((n - 1) / max(1, cap - 1))
    index = np.arange(0, n, stride)
    if index[-1] != n - 1:
        index = np.append(index, n - 1)
    return index


def _pick(n: int, cap: int) -> np.ndarray:
    """At most `cap` evenly spread indices of range(n), first and last kept (layers to show)."""
    if n <= cap:
        return np.arange(n)
    return np.unique(np.round(np.linspace(0, n - 1, cap)).astype(int))


def _finite(values: np.ndarray, positive: bool = False) -> np.ndarray:
    """NaN where a line cannot go: inf and NaN, and for log axes anything not above zero."""
    out = np.asarray(values, dtype=np.float64)
    bad = ~np.isfinite(out)
    if positive:
        bad |= out <= 0
    if bad.any():
        out = np.where(bad, np.nan, out)
    return out


def _mix(color: str, target: tuple[int, int, int], amount: float) -> str:
    r, g, b = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    r, g, b = (round(c + (t - c) * amount) for c, t in zip((r, g, b), target))
    return f"#{r:02x}{g:02x}{b:02x}"


def _shade(color: str, position: float) -> str:
    """The run colour for a layer at relative depth `position` (0 = input side: light, 1 = output: dark)."""
    if position < 0.5:
        return _mix(color, (255, 255, 255), 0.6 * (1 - 2 * position))
    return _mix(color, (0, 0, 0), 0.45 * (2 * position - 1))


def _eq(table: pd.DataFrame, column: str, value: str) -> np.ndarray:
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


def _is_empty(table: pd.DataFrame | None) -> bool:
    return table is None or len(table) == 0


# ---------------------------------------------------------------------------- reading the tables
#
# Tables are read once each, into arrays: the layers table into integer codes (run, layer in depth
# order, stat), the hists table into one HistCube per (run, kind). What was read is remembered for
# the last few table objects, by identity, so the nine charts of a page read each table once. Tables
# count as immutable, as the engine makes them (a table that grows is read again).

_MEMO: OrderedDict[tuple[int, str], tuple[weakref.ref, int, Any]] = OrderedDict()
_MEMO_SIZE = 32  # entries: a table's columns and readings; a table's own vanish with it
_MEMO_LOCK = threading.Lock()


def _memo(table: pd.DataFrame, key: str, read: Any) -> Any:
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


def _codes_at(table: pd.DataFrame, column: str, rows: np.ndarray | None = None) -> tuple[np.ndarray, list[str]]:
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


def _ranked(codes: np.ndarray, names: list[str], key: Any = None) -> tuple[np.ndarray, list[str]]:
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
    run, runs = _ranked(*_codes_at(layers, "run"))
    layer, names = _ranked(*_codes_at(layers, "layer"), key=depth_key)
    stat, stats = _codes_at(layers, "stat")
    return _LayerIndex(runs, names, stats, run, layer, stat, layers["step"].to_numpy(),
                       layers["value"].to_numpy(dtype=np.float64))


@dataclass
class _Series:
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


def _stat_series(layers: pd.DataFrame | None, stat: str, run: str | None = None) -> _Series | None:
    if _is_empty(layers):
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
    return _Series(index.runs, index.layers, run_code[order], layer_code[order], step[order],
                   index.value[rows][order])


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
    the table per kind serves every run (remembered, see above)."""
    if _is_empty(hists):
        return None
    return _memo(hists, f"hists:{kind}", lambda table: _read_kind(table, kind)).get(run)


def _read_kind(hists: pd.DataFrame, kind: str) -> dict[str, HistCube]:
    """Every run's HistCube of one kind. Fast path: the engine writes each (step, run, layer) histogram
    as consecutive rows in bin order, so after one mask on `kind` the rows reshape into histograms and
    run and layer are read once per histogram. Tables in any other order fall back to a sort."""
    rows = np.flatnonzero(_eq(hists, "kind", kind))
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
    head_runs, _ = _codes_at(hists, "run", head)
    head_layers, _ = _codes_at(hists, "layer", head)
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
    run_code, run_names = _codes_at(hists, "run", ends)
    layer_code, layer_names = _codes_at(hists, "layer", ends)
    if (run_code[:n] != run_code[n:]).any() or (layer_code[:n] != layer_code[n:]).any():
        return None
    return width, run_code[:n], run_names, layer_code[:n], layer_names


def _sorted_rows(hists: pd.DataFrame, rows: np.ndarray) -> tuple:
    """Rows of one kind in any order, sorted into histograms: ([histograms, bins] row numbers, run code
    of each, run names, layer code of each, layer names). Histograms with missing bins are left out."""
    step = hists["step"].to_numpy()[rows]
    lo = hists["lo"].to_numpy(dtype=np.float64)[rows]
    run_code, run_names = _codes_at(hists, "run", rows)
    layer_code, layer_names = _codes_at(hists, "layer", rows)
    order = np.lexsort((np.where(np.isneginf(lo), np.inf, lo), layer_code, run_code, step))  # zero row last
    rows, step, run_code, layer_code = rows[order], step[order], run_code[order], layer_code[order]
    change = np.concatenate([[True], (np.diff(step) != 0) | (np.diff(run_code) != 0) | (np.diff(layer_code) != 0)])
    sizes = np.diff(np.append(np.flatnonzero(change), len(rows)))
    width = int(sizes.max())
    whole = np.repeat(sizes == width, sizes)
    return (rows[whole].reshape(-1, width), run_code[whole][::width], run_names, layer_code[whole][::width],
            layer_names)


def _cube(hists: pd.DataFrame | HistCube | None, run: str, kind: str) -> HistCube | None:
    if isinstance(hists, HistCube):
        return hists if hists.run == run and hists.kind == kind else None
    return hist_cube(hists, run, kind)


def projected(figure: go.Figure, scale: float = 1.35) -> go.Figure:
    """`figure` made for a projector: taller, with larger text. Changes the figure: give it a fresh one."""
    layout = figure.layout
    figure.update_layout(height=round((layout.height or 340) * scale), font={"size": 16},
                         legend={"font": {"size": 15}})
    for annotation in layout.annotations or ():
        annotation.font.size = round((annotation.font.size or 12) * 1.25)
    return figure


# ------------------------------------------------------------------------------ 1. loss, accuracy


def loss_accuracy_figure(scalars: pd.DataFrame | None, *, log_y: bool = False, labels: Mapping[str, str] | None = None,
                         runs: Sequence[str] | None = None) -> go.Figure:
    """Loss (left) and accuracy (right, classification only) over steps; train dotted, validation solid,
    one colour per run. `log_y` puts the loss on a log axis."""
    if _is_empty(scalars):
        return waiting_figure(height=320)
    rows = np.flatnonzero(_eq(scalars, "metric", "loss") | _eq(scalars, "metric", "accuracy"))
    run_code, run_names = _ranked(*_codes_at(scalars, "run", rows))
    if runs is not None:
        keep = np.isin(run_code, [i for i, r in enumerate(run_names) if r in set(runs)])
        rows, run_code = rows[keep], run_code[keep]
    if not len(rows):
        return waiting_figure(height=320)
    metric_code, metric_names = _codes_at(scalars, "metric", rows)
    split_code, split_names = _ranked(*_codes_at(scalars, "split", rows))
    step = scalars["step"].to_numpy()[rows]
    value = scalars["value"].to_numpy(dtype=np.float64)[rows]
    order = np.lexsort((step, split_code, metric_code, run_code))
    key = (run_code * len(metric_names) + metric_code) * len(split_names) + split_code
    key, step, value = key[order], step[order], value[order]
    cuts = np.flatnonzero(np.diff(key)) + 1
    starts, ends = np.concatenate([[0], cuts]), np.concatenate([cuts, [len(key)]])
    has_accuracy = "accuracy" in metric_names
    cols = 2 if has_accuracy else 1
    layout = _grid(1, cols, horizontal_spacing=0.12 if has_accuracy else None)
    cap = _trace_cap(len(starts))
    traces = []
    for start, end in zip(starts, ends):
        first = order[start]
        run, metric = run_names[run_code[first]], metric_names[metric_code[first]]
        split = split_names[split_code[first]]
        index = start + _thin(end - start, cap)
        xref, yref = _axis_ids(1, 1 if metric == "loss" else 2, cols)
        label = run_label(run, labels)
        train = split == "train"
        traces.append({
            "type": "scatter", "mode": "lines", "x": step[index],
            "y": _finite(value[index], positive=log_y and metric == "loss"), "xaxis": xref, "yaxis": yref,
            "name": f"{label} {split}", "legendgroup": f"{run}-{split}", "showlegend": metric == "loss",
            "line": {"color": run_color(run), "width": 1.2 if train else 2.2, "dash": "dot" if train else "solid"},
            "opacity": 0.75 if train else 1.0,
            "hovertemplate": f"{label} {split} {metric}<br>step %{{x}}: %{{y:.4g}}<extra></extra>",
        })
    layout["xaxis"].update(title={"text": "step"})
    layout["yaxis"].update(title={"text": "loss"}, type="log" if log_y else "linear")
    if has_accuracy:
        layout["xaxis2"].update(title={"text": "step"})
        layout["yaxis2"].update(title={"text": "accuracy"}, range=[0, 1.02])
    layout.update(height=340, legend=_LEGEND, margin={**_MARGIN, "t": 40})
    return _figure(traces, layout)


def _trace_cap(n_traces: int) -> int:
    return int(min(MAX_TRACE_POINTS, max(MIN_TRACE_POINTS, LINE_POINT_BUDGET // max(1, n_traces))))


# ------------------------------------------------------------------------ 2. what the net computes


def prediction_figure(prediction: Prediction | None, run: str | None = None, points: Any = None, *,
                      raw_train: Any = None, y_train: Any = None, raw_val: Any = None, y_val: Any = None,
                      labels: Mapping[str, str] | None = None) -> go.Figure:
    """What the net computes, by `prediction.kind`: 'boundary' (P(class 1) over the input plane with the
    data on top), 'curve' (sine: the data and the predicted curve; `run=None` draws every run), or
    'confusion' (digits: true vs predicted on the validation split).

    The data comes as `points`: a tuple (raw_train, y_train, raw_val, y_val), a mapping with those keys,
    or an object with those attributes (an engine Dataset); or as the keyword arguments. Arrays may be
    numpy arrays or CPU tensors."""
    if prediction is None or not len(prediction.runs):
        return waiting_figure(height=420)
    data = _points(points, raw_train, y_train, raw_val, y_val)
    if prediction.kind == "curve":
        return _curve_figure(prediction, run, data, labels)
    k = prediction.runs.index(run) if run in prediction.runs else 0
    if prediction.kind == "boundary":
        return _boundary_figure(prediction, k, data)
    if prediction.kind == "confusion":
        return _confusion_figure(prediction, k)
    return waiting_figure(f"No chart for predictions of kind {prediction.kind!r}", height=420)


def _points(points: Any, raw_train: Any, y_train: Any, raw_val: Any, y_val: Any) -> list[np.ndarray | None]:
    names = ("raw_train", "y_train", "raw_val", "y_val")
    given = [raw_train, y_train, raw_val, y_val]
    if points is not None:
        if isinstance(points, Mapping):
            found = [points.get(n) for n in names]
        elif isinstance(points, Sequence):
            found = [*points, None, None, None, None][:4]
        else:
            found = [getattr(points, n, None) for n in names]
        given = [g if g is not None else f for g, f in zip(given, found)]
    out = []
    for array in given:
        if array is None:
            out.append(None)
            continue
        if hasattr(array, "detach"):
            array = array.detach().cpu().numpy()
        out.append(np.asarray(array))
    return out


def _subsample(x: np.ndarray | None, y: np.ndarray | None, cap: int) -> tuple[np.ndarray, np.ndarray] | None:
    if x is None or y is None or not len(x) or len(x) != len(y):
        return None
    index = _thin(len(x), cap)
    return x[index], y[index]


def _boundary_figure(prediction: Prediction, k: int, data: list) -> go.Figure:
    xs, ys = prediction.axes
    z = np.clip(_finite(prediction.values[k]), 0.0, 1.0)  # NaN (diverged) stays a gap
    traces = [{
        "type": "heatmap", "x": xs, "y": ys, "z": np.round(z, 3), "zmin": 0.0, "zmax": 1.0, "zmid": 0.5,
        "colorscale": BOUNDARY_SCALE, "opacity": 0.85,
        "colorbar": {"title": {"text": "P(class 1)", "side": "right"}, "thickness": 12, "len": 0.9},
        "hovertemplate": "x %{x:.2f}, y %{y:.2f}<br>P(class 1) %{z:.2f}<extra></extra>",
    }]
    for split, (raw, y), cap, symbol in (("train", data[:2], MAX_TRAIN_POINTS, "circle"),
                                         ("val", data[2:], MAX_VAL_POINTS, "x")):
        picked = _subsample(raw, y, cap)
        if picked is None or raw.ndim != 2 or raw.shape[1] < 2:
            continue
        raw_s, y_s = picked
        classes = y_s.astype(np.int64)
        palette = CLASS_COLORS if classes.max(initial=0) <= 1 else CLASS_PALETTE
        colors = np.asarray(palette, dtype=object)[classes % len(palette)]
        marker: dict[str, Any] = {"color": colors.tolist(), "symbol": symbol, "size": 6 if split == "train" else 7}
        marker["line"] = {"color": "white", "width": 0.8} if split == "train" else {"width": 0}
        traces.append({
            "type": "scatter", "mode": "markers", "x": raw_s[:, 0], "y": raw_s[:, 1], "name": split,
            "marker": marker, "customdata": classes,
            "hovertemplate": f"{split}: class %{{customdata}}<br>(%{{x:.2f}}, %{{y:.2f}})<extra></extra>",
        })
    layout = {
        "height": 420,
        "xaxis": {"range": [float(xs[0]), float(xs[-1])], "showgrid": False, "zeroline": False, "constrain": "domain"},
        "yaxis": {"range": [float(ys[0]), float(ys[-1])], "showgrid": False, "zeroline": False,
                  "scaleanchor": "x", "scaleratio": 1},
        "legend": _LEGEND, "margin": {**_MARGIN, "t": 40},
    }
    return _figure(traces, layout)


def _curve_figure(prediction: Prediction, run: str | None, data: list, labels: Mapping[str, str] | None) -> go.Figure:
    (x_curve,) = prediction.axes
    traces = []
    targets = []
    for split, (raw, y), cap, marker in (
        ("train", data[:2], MAX_TRAIN_POINTS, {"color": "#9aa5b1", "size": 4}),
        ("val", data[2:], MAX_VAL_POINTS, {"color": "#3d4852", "size": 6, "symbol": "circle-open"}),
    ):
        picked = _subsample(raw, y, cap)
        if picked is None:
            continue
        raw_s, y_s = picked
        y_s = _finite(y_s)
        targets.append(y_s)
        traces.append({"type": "scatter", "mode": "markers", "x": raw_s.reshape(len(raw_s), -1)[:, 0], "y": y_s,
                       "name": split, "marker": marker,
                       "hovertemplate": f"{split}: x %{{x:.2f}}, y %{{y:.3f}}<extra></extra>"})
    runs = [run] if run in prediction.runs else list(prediction.runs)
    for name in runs:
        k = prediction.runs.index(name)
        traces.append({
            "type": "scatter", "mode": "lines", "x": x_curve, "y": _finite(prediction.values[k]),
            "name": f"{run_label(name, labels)} prediction", "line": {"color": run_color(name), "width": 3},
            "hovertemplate": f"{run_label(name, labels)}: x %{{x:.2f}} -> %{{y:.3f}}<extra></extra>",
        })
    layout: dict[str, Any] = {"height": 420, "xaxis": {"title": {"text": "x"}}, "yaxis": {"title": {"text": "y"}},
                              "legend": _LEGEND, "margin": {**_MARGIN, "t": 40}}
    known = np.concatenate(targets) if targets else np.array([])
    known = known[np.isfinite(known)]
    if len(known):  # a fixed range from the data: a diverging prediction must not squash the view
        lo, hi = float(known.min()), float(known.max())
        pad = 0.25 * (hi - lo) + 1e-6
        layout["yaxis"]["range"] = [lo - pad, hi + pad]
    return _figure(traces, layout)


def _confusion_figure(prediction: Prediction, k: int) -> go.Figure:
    matrix = np.asarray(prediction.values[k], dtype=np.int64)
    n = matrix.shape[0]
    names = [str(i) for i in range(n)]
    totals = matrix.sum(axis=1, keepdims=True)
    share = np.where(totals > 0, matrix / np.maximum(totals, 1), 0.0)
    correct = int(np.trace(matrix))
    total = int(matrix.sum())
    traces = [{
        "type": "heatmap", "x": names, "y": names, "z": np.round(share, 3), "zmin": 0.0, "zmax": 1.0,
        "colorscale": COUNT_SCALE, "customdata": matrix, "text": np.where(matrix > 0, matrix, "").tolist(),
        "texttemplate": "%{text}",
        "textfont": {"size": 11}, "colorbar": {"title": {"text": "share of row", "side": "right"}, "thickness": 12},
        "hovertemplate": "true %{y}, predicted %{x}: %{customdata} (%{z:.0%} of the true %{y}s)<extra></extra>",
    }]
    accuracy = f"{correct / total:.1%} right ({correct} of {total})" if total else ""
    layout = {
        "height": 420,
        "xaxis": {"title": {"text": "predicted"}, "side": "top", "showgrid": False, "type": "category",
                  "constrain": "domain"},
        "yaxis": {"title": {"text": "true"}, "autorange": "reversed", "showgrid": False, "type": "category",
                  "scaleanchor": "x", "scaleratio": 1},
        "annotations": [{"text": accuracy, "xref": "paper", "yref": "paper", "x": 0, "y": -0.02, "xanchor": "left",
                         "yanchor": "top", "showarrow": False, "font": {"size": 12}}],
        "margin": {**_MARGIN, "t": 50, "b": 30},
    }
    return _figure(traces, layout)


# ---------------------------------------------------------------------- 3. histograms over time


def _value_axis(cube: HistCube, layer: int, every: int = 3) -> tuple[np.ndarray, dict]:
    """Bin edges for the heatmap's y (with the zero strip below for grad) and the axis settings; log10
    |gradient| ticks every `every` decades, labelled 1e-9 ... 1, and "0" on the zero strip."""
    edges = cube.edges(layer)
    if cube.zeros is None:
        return edges, {"nticks": 4}
    width = edges[1] - edges[0]
    zero_lo = edges[0] - ZERO_STRIP * width
    edges = np.concatenate([[zero_lo], edges])
    top = math.floor(edges[-1])
    decades = [d for d in range(top - top % every, math.ceil(edges[1]), -every) if d > edges[1] + 1.5][::-1]
    ticks = [float((zero_lo + edges[1]) / 2), *map(float, decades)]
    return edges, {"tickmode": "array", "tickvals": ticks, "ticktext": ["0", *[_decade(d) for d in decades]]}


def _count_ticks(zmax: int) -> dict:
    """Colour bar ticks in counts (0, 1, 10, 100, ...) for colour codes log10(1 + count) * LOG_COUNT_STEPS."""
    counts = [0] + [10**k for k in range(7) if math.log10(1 + 10**k) * LOG_COUNT_STEPS <= max(zmax, 1) + 0.5]
    values = [round(math.log10(1 + c) * LOG_COUNT_STEPS, 2) for c in counts]
    text = [f"{c // 1000}k" if c >= 1000 else str(c) for c in counts]
    return {"tickmode": "array", "tickvals": values, "ticktext": text}


def _decade(exponent: float) -> str:
    e = round(exponent)
    return "1" if e == 0 else f"1e{e}"


def histogram_heatmap(hists: pd.DataFrame | HistCube | None, run: str, kind: str = "act", *,
                      max_panels: int = MAX_PANELS, max_columns: int = MAX_COLUMNS) -> go.Figure:
    """Histograms over time for one run: one panel per hidden layer (depth order, input at the top),
    step on x, bin value on y (log10 |gradient| for kind 'grad', with a strip for exact zeros at the
    bottom), colour the count on a log scale (one-byte codes log10(1 + count) * LOG_COUNT_STEPS). Deep
    nets show at most `max_panels` evenly picked layers."""
    cube = _cube(hists, run, kind)
    if cube is None:
        return waiting_figure(height=PANEL_HEIGHT * 3)
    shown = _pick(len(cube.layers), max_panels)
    columns = _thin(len(cube.steps), max_columns)
    x = cube.steps[columns]
    n = len(shown)
    layout = _stack(n, vertical_spacing=min(0.04, 0.3 / max(1, n)))
    counts = cube.counts[columns][:, shown, :]  # [S', n, B]
    if cube.zeros is not None:  # the exact-zero strip goes below the value bins
        counts = np.concatenate([cube.zeros[columns][:, shown, None], counts], axis=2)
    # Colour codes: LOG_COUNT_STEPS per decade of count, one byte per cell (a quarter of float32's JSON).
    z_all = np.minimum(np.rint(np.log10(1.0 + counts.transpose(1, 2, 0)) * LOG_COUNT_STEPS), 255).astype(np.uint8)
    zmax = int(z_all.max(initial=0))
    value_name = {"act": "activation", "preact": "pre-activation", "grad": "log10 |dL/dz|"}.get(kind, kind)
    traces = []
    for row, layer in enumerate(shown, start=1):
        name = cube.layers[layer]
        edges, ticks = _value_axis(cube, layer, every=4)
        yref = _axis_ids(row, 1, 1)[1]
        traces.append({
            "type": "heatmap", "x": x, "y": edges, "z": z_all[row - 1], "coloraxis": "coloraxis",
            "xaxis": "x", "yaxis": yref, "name": name,
            "hovertemplate": f"{name} · step %{{x}}<br>{value_name} %{{y:.3g}}<extra></extra>",
        })
        layout[_axis_key(yref)].update(title={"text": name, "font": {"size": 11}}, showgrid=False, zeroline=False,
                                       tickfont={"size": 9}, **ticks)
    layout["xaxis"].update(title={"text": "step"})
    layout["coloraxis"] = {"colorscale": COUNT_SCALE, "cmin": 0, "cmax": max(zmax, 1),
                           "colorbar": {"title": {"text": "count", "side": "right"}, "thickness": 12,
                                        **_count_ticks(zmax)}}
    annotations = []
    if n < len(cube.layers):
        annotations.append({"text": f"{n} of {len(cube.layers)} layers shown", "xref": "paper", "yref": "paper",
                            "x": 1, "y": 1, "xanchor": "right", "yanchor": "bottom", "showarrow": False,
                            "font": {"size": 11, "color": "#888888"}})
    layout.update(height=60 + PANEL_HEIGHT * n, annotations=annotations, margin={**_MARGIN, "t": 24})
    return _figure(traces, layout)


def histogram_grid(hists: pd.DataFrame | None, runs: Sequence[str], kind: str = "act", *,
                   labels: Mapping[str, str] | None = None, max_rows: int = MAX_GRID_ROWS,
                   max_columns: int = MAX_COLUMNS) -> go.Figure:
    """Histograms over time of several runs side by side: one column per run (its label on top, in its
    colour), one row per hidden layer (depth order, input at the top). Every cell shares the step axis,
    the cells of a row share the value axis, and all share one colour scale, so runs compare cell by
    cell. Runs of different depths leave the rows they lack empty."""
    cubes = [(run, _cube(hists, run, kind)) for run in runs]
    cubes = [(run, cube) for run, cube in cubes if cube is not None]
    if not cubes:
        return waiting_figure(height=PANEL_HEIGHT * 3)
    names = depth_order(name for _, cube in cubes for name in cube.layers)
    shown = [names[i] for i in _pick(len(names), max_rows)]
    rows, cols = len(shown), len(cubes)
    layout = _grid(rows, cols, shared_xaxes=True, vertical_spacing=min(0.04, 0.3 / max(1, rows)),
                   horizontal_spacing=0.02 if cols > 1 else None)
    value_name = {"act": "activation", "preact": "pre-activation", "grad": "log10 |dL/dz|"}.get(kind, kind)
    traces, zmax, x_hi = [], 0, 0
    for col, (run, cube) in enumerate(cubes, start=1):
        columns = _thin(len(cube.steps), max_columns)
        x_hi = max(x_hi, int(cube.steps[-1]))
        for row, name in enumerate(shown, start=1):
            if name not in cube.layers:
                continue
            layer = cube.layers.index(name)
            counts = cube.counts[columns, layer, :]  # [S', B]
            if cube.zeros is not None:
                counts = np.concatenate([cube.zeros[columns, layer, None], counts], axis=1)
            z = np.minimum(np.rint(np.log10(1.0 + counts.T) * LOG_COUNT_STEPS), 255).astype(np.uint8)
            zmax = max(zmax, int(z.max(initial=0)))
            edges, ticks = _value_axis(cube, layer, every=4)
            xref, yref = _axis_ids(row, col, cols)
            label = run_label(run, labels)
            traces.append({
                "type": "heatmap", "x": cube.steps[columns], "y": edges, "z": z, "coloraxis": "coloraxis",
                "xaxis": xref, "yaxis": yref, "name": f"{label} {name}",
                "hovertemplate": f"{label} {name} · step %{{x}}<br>{value_name} %{{y:.3g}}<extra></extra>",
            })
            axis = layout[_axis_key(yref)]
            axis.update(showgrid=False, zeroline=False, tickfont={"size": 9}, **ticks)
            if col == 1:
                axis.update(title={"text": name, "font": {"size": 11}})
    for row in range(1, rows + 1):
        first_y = _axis_ids(row, 1, cols)[1]
        for col in range(2, cols + 1):  # a row's cells share the value axis; only the first shows it
            layout[_axis_key(_axis_ids(row, col, cols)[1])].update(matches=first_y, showticklabels=False)
    anchor_x = _axis_ids(rows, 1, cols)[0]  # every cell's step axis follows the bottom-left one
    layout[_axis_key(anchor_x)].update(range=[0, max(x_hi, 1)])
    for col in range(1, cols + 1):
        layout[_axis_key(_axis_ids(rows, col, cols)[0])].update(title={"text": "step"})
        for row in range(1, rows + 1):
            xref = _axis_ids(row, col, cols)[0]
            if xref != anchor_x:
                layout[_axis_key(xref)].update(matches=anchor_x)
    annotations = [{"text": f"<b>{run_label(run, labels)}</b>", "xref": f"{_axis_ids(1, col, cols)[0]} domain",
                    "yref": "paper", "x": 0.5, "y": 1, "xanchor": "center", "yanchor": "bottom", "showarrow": False,
                    "font": {"size": 13, "color": run_color(run)}}
                   for col, (run, _) in enumerate(cubes, start=1)]
    if rows < len(names):
        annotations.append({"text": f"{rows} of {len(names)} layers shown", "xref": "paper", "yref": "paper",
                            "x": 1, "y": 0, "xanchor": "right", "yanchor": "top", "yshift": -28,
                            "showarrow": False, "font": {"size": 11, "color": "#888888"}})
    layout["coloraxis"] = {"colorscale": COUNT_SCALE, "cmin": 0, "cmax": max(zmax, 1),
                           "colorbar": {"title": {"text": "count", "side": "right"}, "thickness": 12,
                                        **_count_ticks(zmax)}}
    layout.update(height=80 + PANEL_HEIGHT * rows, annotations=annotations, margin={**_MARGIN, "t": 30})
    return _figure(traces, layout)


def depth_profile(hists: pd.DataFrame | HistCube | None, run: str, kind: str = "act", *, step: int | None = None,
                  max_layers: int = MAX_PROFILE_LAYERS) -> go.Figure:
    """The distributions of all hidden layers at one step (the latest, or the last one at or before
    `step`), side by side from input (left) to output (right): one violin-like outline per layer,
    each scaled to its own peak, in the run's colour darkening with depth."""
    cube = _cube(hists, run, kind)
    if cube is None:
        return waiting_figure(height=300)
    at = len(cube.steps) - 1 if step is None else int(np.searchsorted(cube.steps, step, side="right")) - 1
    at = max(at, 0)
    shown = _pick(len(cube.layers), max_layers)
    color = run_color(run)
    traces = []
    names = [cube.layers[i] for i in shown]
    for position, layer in enumerate(shown):
        counts = cube.counts[at, layer]
        zeros = float(cube.zeros[at, layer]) if cube.zeros is not None else 0.0
        total = counts.sum() + zeros
        peak = max(float(counts.max(initial=0.0)), zeros, 1.0)
        half = 0.42 * counts / peak
        centres = (cube.lo[layer] + cube.hi[layer]) / 2
        xs = [position - half, [position], position + half[::-1], [position - half[0]]]
        ys = [centres, [centres[-1]], centres[::-1], [centres[0]]]
        share = counts / max(total, 1.0)
        texts = np.concatenate([share, [share[-1]], share[::-1], [share[0]]])
        if cube.zeros is not None:  # a block for exact zeros, below the value bins
            width = cube.hi[layer, 0] - cube.lo[layer, 0]
            bottom, top = cube.lo[layer, 0] - ZERO_STRIP * width, cube.lo[layer, 0] - 0.5 * width
            w = 0.42 * zeros / peak
            xs += [[np.nan], [position - w, position - w, position + w, position + w, position - w]]
            ys += [[np.nan], [bottom, top, top, bottom, bottom]]
            texts = np.concatenate([texts, [np.nan], np.full(5, zeros / max(total, 1.0))])
        shade = _shade(color, position / max(1, len(shown) - 1))
        traces.append({
            "type": "scatter", "mode": "lines", "x": np.concatenate(xs), "y": np.concatenate(ys), "fill": "toself",
            "line": {"color": shade, "width": 1}, "fillcolor": _mix(shade, (255, 255, 255), 0.35),
            "name": cube.layers[layer], "showlegend": False, "customdata": np.round(texts, 4),
            "hovertemplate": f"{cube.layers[layer]}: %{{y:.3g}}, %{{customdata:.1%}} of the batch<extra></extra>",
        })
    axis: dict[str, Any] = {"title": {"text": {"act": "activation", "preact": "pre-activation",
                                               "grad": "|dL/dz|"}.get(kind, kind)}}
    if cube.zeros is not None:
        axis.update(_value_axis(cube, 0)[1])
    layout = {
        "height": 300,
        "xaxis": {"tickmode": "array", "tickvals": list(range(len(names))), "ticktext": names, "showgrid": False,
                  "zeroline": False, "range": [-0.6, len(names) - 0.4]},
        "yaxis": axis,
        "annotations": [{"text": f"step {int(cube.steps[at])}", "xref": "paper", "yref": "paper", "x": 1, "y": 1,
                         "xanchor": "right", "yanchor": "bottom", "showarrow": False,
                         "font": {"size": 11, "color": "#888888"}}],
        "margin": {**_MARGIN, "t": 24},
    }
    return _figure(traces, layout)


# ------------------------------------------------------------------------------ 4-6. layer stats


def gradient_depth_figure(layers: pd.DataFrame | None, *, step: int | None = None,
                          labels: Mapping[str, str] | None = None, runs: Sequence[str] | None = None) -> go.Figure:
    """Gradient RMS per layer at the latest step of each run (or the last one at or before `step`), layers
    in depth order on x, log y; left the back-propagated dL/dz, right dL/dW. One line per run."""
    panels = (("grad_preact_rms", "RMS dL/dz (back-propagated)"), ("weight_grad_rms", "RMS dL/dW"))
    return _across_depth(layers, panels, log_y=True, step=step, labels=labels, runs=runs)


def saturation_depth_figure(layers: pd.DataFrame | None, *, step: int | None = None,
                            labels: Mapping[str, str] | None = None, runs: Sequence[str] | None = None) -> go.Figure:
    """saturated_frac (left) and dead_frac (right) per layer at the latest step of each run, layers in
    depth order on x: one line per run, so runs compare at a glance."""
    panels = (("saturated_frac", "saturated fraction"), ("dead_frac", "dead units"))
    return _across_depth(layers, panels, log_y=False, step=step, labels=labels, runs=runs, y_range=[-0.02, 1.02])


def _across_depth(layers: pd.DataFrame | None, panels: Sequence[tuple[str, str]], *, log_y: bool,
                  step: int | None, labels: Mapping[str, str] | None, runs: Sequence[str] | None,
                  y_range: list[float] | None = None) -> go.Figure:
    """Panels side by side, one per stat: the stat per layer (depth order on x) at the latest step of each
    run (or the last one at or before `step`), one line per run in its colour."""
    series = [_stat_series(layers, stat) for stat, _ in panels]
    if all(s is None for s in series):
        return waiting_figure(height=320)
    cols = len(panels)
    layout = _grid(1, cols, horizontal_spacing=0.14)
    all_layers = depth_order(name for s in series if s is not None for name in s.present_layers())
    traces = []
    shown_runs: set[str] = set()
    for col, (s, (stat, title)) in enumerate(zip(series, panels), start=1):
        xref, yref = _axis_ids(1, col, cols)
        layout[_axis_key(xref)].update(type="category", categoryorder="array", categoryarray=all_layers,
                                       title={"text": "layer (input → output)"})
        layout[_axis_key(yref)].update(title={"text": title})
        if log_y:
            layout[_axis_key(yref)].update(type="log", exponentformat="power")
        elif y_range is not None:
            layout[_axis_key(yref)].update(range=y_range)
        if s is None:
            continue
        for run in s.runs:
            if runs is not None and run not in runs:
                continue
            names, values, steps = _latest(s, run, step)
            if not names:
                continue
            label = run_label(run, labels)
            traces.append({
                "type": "scatter", "mode": "lines+markers", "x": names, "y": _finite(values, positive=log_y),
                "xaxis": xref, "yaxis": yref, "name": label, "legendgroup": run, "showlegend": run not in shown_runs,
                "line": {"color": run_color(run), "width": 2}, "marker": {"size": 6}, "customdata": steps,
                "hovertemplate": f"{label} %{{x}} (step %{{customdata}})<br>{stat} %{{y:.3g}}<extra></extra>",
            })
            shown_runs.add(run)
    layout.update(height=340, legend=_LEGEND, margin={**_MARGIN, "t": 40})
    return _figure(traces, layout)


def _latest(s: _Series, run: str, step: int | None) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Per layer of `run`, in depth order: the value at its last step (at or before `step`)."""
    names, values, steps = [], [], []
    for r, layer, rows in s.groups():
        if r != run:
            continue
        at = len(s.step[rows]) - 1 if step is None else int(np.searchsorted(s.step[rows], step, side="right")) - 1
        if at < 0:
            continue
        names.append(layer)
        values.append(s.value[rows][at])
        steps.append(int(s.step[rows][at]))
    return names, np.asarray(values, dtype=np.float64), np.asarray(steps, dtype=np.int64)


def _layer_lines(layers: pd.DataFrame | None, stats: Sequence[tuple[str, str]], run: str | None,
                 labels: Mapping[str, str] | None, log_y: bool, height: int,
                 y_range: list[float] | None = None, reference: float | None = None) -> go.Figure:
    """Stacked panels (one per stat, shared x), one line per (run, layer) over steps, in the run's colour
    shaded by depth. One run: a legend entry per layer; several: one per run."""
    series = [_stat_series(layers, stat, run) for stat, _ in stats]
    if all(s is None for s in series):
        return waiting_figure(height=height)
    n = len(stats)
    layout = _stack(n, vertical_spacing=0.08)
    picked = [_picked_groups(s) for s in series]
    cap = _trace_cap(sum(len(p) for p in picked))
    runs_drawn = {g[0] for p in picked for g in p}
    per_layer_legend = len(runs_drawn) == 1
    traces = []
    legend_seen: set[str] = set()
    x_lo, x_hi = math.inf, -math.inf
    for row, (s, p, (_, title)) in enumerate(zip(series, picked, stats), start=1):
        xref, yref = "x", _axis_ids(row, 1, 1)[1]
        layout[_axis_key(yref)].update(title={"text": title})
        if log_y:
            layout[_axis_key(yref)].update(type="log", exponentformat="power")
        elif y_range is not None:
            layout[_axis_key(yref)].update(range=y_range)
        for run_id, layer, rows, depth in p:
            index = _thin(rows.stop - rows.start, cap)
            x = s.step[rows][index]
            y = _finite(s.value[rows][index], positive=log_y)
            x_lo, x_hi = min(x_lo, float(x[0])), max(x_hi, float(x[-1]))
            label = run_label(run_id, labels)
            group = layer if per_layer_legend else run_id
            traces.append({
                "type": "scatter", "mode": "lines", "x": x, "y": y, "xaxis": xref, "yaxis": yref,
                "name": layer if per_layer_legend else label, "legendgroup": group,
                "showlegend": group not in legend_seen,
                "line": {"color": _shade(run_color(run_id), depth), "width": 1.6},
                "hovertemplate": f"{label} {layer}<br>step %{{x}}: %{{y:.3g}}<extra></extra>",
            })
            legend_seen.add(group)
        if reference is not None and math.isfinite(x_lo):
            traces.append({
                "type": "scatter", "mode": "lines", "x": np.array([x_lo, x_hi]), "y": np.array([reference] * 2),
                "xaxis": xref, "yaxis": yref, "name": f"{_decade(math.log10(reference))} (rule of thumb)",
                "legendgroup": "reference",
                "showlegend": row == 1, "line": {"color": "#555555", "width": 1.5, "dash": "dash"},
                "hoverinfo": "skip",
            })
    layout["xaxis"].update(title={"text": "step"})
    layout.update(height=height, legend=_LEGEND, margin={**_MARGIN, "t": 40})
    return _figure(traces, layout)


def _picked_groups(s: _Series | None) -> list[tuple[str, str, slice, float]]:
    """(run, layer, rows, relative depth) of the lines to draw: every layer of every run, or, past
    MAX_LINES, evenly picked layers per run (first and last kept)."""
    if s is None:
        return []
    by_run: dict[str, list[tuple[str, slice]]] = {}
    for run_id, layer, rows in s.groups():
        by_run.setdefault(run_id, []).append((layer, rows))
    per_run = max(2, MAX_LINES // max(1, len(by_run)))
    out = []
    for run_id, items in by_run.items():
        for i in _pick(len(items), per_run):
            layer, rows = items[i]
            out.append((run_id, layer, rows, i / max(1, len(items) - 1)))
    return out


def gradient_time_figure(layers: pd.DataFrame | None, run: str | None = None, *, stat: str = "grad_preact_rms",
                         labels: Mapping[str, str] | None = None) -> go.Figure:
    """Gradient RMS of every layer over steps (`stat` grad_preact_rms or weight_grad_rms), log y; one run
    or, with run=None, all runs."""
    title = {"grad_preact_rms": "RMS dL/dz", "weight_grad_rms": "RMS dL/dW"}.get(stat, stat)
    return _layer_lines(layers, [(stat, title)], run, labels, log_y=True, height=340)


def saturation_figure(layers: pd.DataFrame | None, run: str | None = None, *,
                      labels: Mapping[str, str] | None = None) -> go.Figure:
    """saturated_frac (top) and dead_frac (bottom) of every hidden layer over steps; all runs by default."""
    return _layer_lines(layers, [("saturated_frac", "saturated"), ("dead_frac", "dead units")], run, labels,
                        log_y=False, height=440, y_range=[-0.02, 1.02])


def update_ratio_figure(layers: pd.DataFrame | None, run: str | None = None, *,
                        labels: Mapping[str, str] | None = None) -> go.Figure:
    """‖ΔW‖ / ‖W‖ of every layer over steps, log y, with the 1e-3 rule of thumb as a dashed line."""
    return _layer_lines(layers, [("update_ratio", "‖ΔW‖ / ‖W‖")], run, labels, log_y=True, height=340,
                        reference=REFERENCE_UPDATE_RATIO)


__all__ = [
    "RUN_COLORS",
    "HistCube",
    "depth_key",
    "depth_order",
    "depth_profile",
    "gradient_depth_figure",
    "gradient_time_figure",
    "hist_cube",
    "histogram_grid",
    "histogram_heatmap",
    "loss_accuracy_figure",
    "prediction_figure",
    "projected",
    "run_color",
    "run_label",
    "saturation_depth_figure",
    "saturation_figure",
    "update_ratio_figure",
    "waiting_figure",
]
