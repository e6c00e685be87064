"""Images in a grid, one panel per run: the first layer's weights as one small image per unit (`filters_figure`)
and an RBM's fantasy samples (`fantasies_figure`).

Each run's images are ONE heatmap trace: the tiles laid into one big array with a row and a column of NaN between
them (drawn as the panel's background), not one trace per image. Filters are scaled per unit, each to its own
largest |weight|, on a diverging scale centred on 0 (red +, blue -): what a filter shows is its shape, as in the
classic DBN filter plots; a run-wide scale would leave most units a flat white beside a few strong ones. The
hover gives the weight itself. `filters_words` and `fantasies_words` say what is drawn, for the page to show
above the chart. On inputs that are not images (2-D datasets), each unit's weight vector is an
arrow in the input plane from the origin: its direction is the one the unit responds to, its length how
strongly, all on one scale per run (so units compare); other input counts get a [units x inputs] heatmap.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import plotly.graph_objects as go

from app.charts.style import (
    MARGIN,
    PHONE_PX,
    axis_ids,
    axis_key,
    grid,
    make_figure,
    run_color,
    run_label,
    run_label_lines,
    waiting_figure,
)
from engine.pretraining.greedy import FANTASY_STEPS

DIVERGING = [[0.0, "#2166AC"], [0.25, "#92C5DE"], [0.5, "#F7F7F7"], [0.75, "#F4A582"], [1.0, "#B2182B"]]
INK = [[0.0, "#FFFFFF"], [1.0, "#000000"]]  # low values white paper, high values black ink, as digits are drawn
GAP = "#6B7280"  # dark enough to part pale tiles  # the panel's background: the NaN lines between tiles
PANEL_PX = 300
TILE_SPACING = 0.04  # between the runs' panels
LABEL_LINE_PX = 16  # each further line of a panel's run label (bold, font size 12)
FIGURE_PX = 600  # the figure width the tile panels' height is sized for: between a phone's 358 and a page's 980
# Budgets: one heatmap per run; 4 runs x 64 units of 8x8 build in about 13 ms and send about 380 KB (float32).


def tiled(images: np.ndarray, cols: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """[n, h, w] images laid out row by row, `cols` per row (square-ish by default), one NaN line between tiles.
    Returns (the array, the image index of each cell: -1 on separators and empty slots)."""
    n, h, w = images.shape
    cols = cols or max(1, math.ceil(math.sqrt(n)))
    rows = max(1, math.ceil(n / cols))
    big = np.full((rows * (h + 1) - 1, cols * (w + 1) - 1), np.nan)
    index = np.full(big.shape, -1)
    for i in range(n):
        top, left = (i // cols) * (h + 1), (i % cols) * (w + 1)
        big[top:top + h, left:left + w] = images[i]
        index[top:top + h, left:left + w] = i
    return big, index


def filters_figure(weights: Mapping[str, np.ndarray], *, image_shape: tuple[int, int] | None = (8, 8),
                   labels: Mapping[str, str] | None = None, max_units: int = 64) -> go.Figure:
    """The first layer's weights ([width, n_inputs] per run), one image per unit (the first `max_units`), a
    grid per run side by side; inputs that are not `image_shape` images are drawn in the input space."""
    arrays = _first_units(weights, max_units)
    if not arrays:
        return _waiting()
    runs = list(arrays)
    drawing = _drawing(arrays, image_shape)
    if drawing == "images":
        traces = [_filter_tiles(run, arrays[run], image_shape, col, len(runs), labels)
                  for col, run in enumerate(runs, start=1)]
        return _panels(traces, runs, labels, square=True)
    if drawing == "arrows":
        traces = [_arrows(run, arrays[run], col, len(runs), labels) for col, run in enumerate(runs, start=1)]
        return _panels(traces, runs, labels, square=True, arrows=True)
    traces = [_rows(run, arrays[run], col, len(runs), labels) for col, run in enumerate(runs, start=1)]
    return _panels(traces, runs, labels, square=False)


def filters_words(weights: Mapping[str, np.ndarray], *, image_shape: tuple[int, int] | None = (8, 8),
                  max_units: int = 64) -> list[str]:
    """What `filters_figure` (same arguments) draws, in words for the page to show above it."""
    arrays = _first_units(weights, max_units)
    if not arrays:
        return []
    first = arrays[next(iter(arrays))]
    width = max(len(np.asarray(weights[run])) for run in arrays)
    shown = f"the first {len(first)} of {width} units" if width > len(first) else f"its {width} units"
    drawing = _drawing(arrays, image_shape)
    if drawing == "images":
        return [f"h1's weights, one {image_shape[0]}x{image_shape[1]} image per unit ({shown}), each scaled to its "
                "own largest |weight|: red +, blue -, white 0.",
                "They act on the net's inputs: on digits, standardized pixels unless standardize is false."]
    if drawing == "arrows":
        return [f"h1's weights as arrows in the input plane ({shown}): each points where its unit's input grows "
                "fastest, its length how fast."]
    return [f"h1's weights, one row per unit ({shown}), input by input."]


def _first_units(weights: Mapping[str, np.ndarray], max_units: int) -> dict[str, np.ndarray]:
    """run -> its first `max_units` units' weights, for the runs that have any, in run order."""
    return {run: np.asarray(weights[run], dtype=np.float64)[:max_units] for run in sorted(weights)
            if np.asarray(weights[run]).size}


def _drawing(arrays: Mapping[str, np.ndarray], image_shape: tuple[int, int] | None) -> str:
    """How the units are drawn: "images" (inputs of `image_shape`), "arrows" (2 inputs) or "rows"."""
    if image_shape is not None and all(a.shape[1] == image_shape[0] * image_shape[1] for a in arrays.values()):
        return "images"
    return "arrows" if all(a.shape[1] == 2 for a in arrays.values()) else "rows"


def fantasies_figure(samples: Mapping[str, np.ndarray], *, image_shape: tuple[int, int] = (8, 8),
                     labels: Mapping[str, str] | None = None) -> go.Figure:
    """Each RBM run's fantasy samples ([n, n_inputs], in input space), grey images on one scale per run."""
    runs = _sampled(samples)
    if not runs:
        return _waiting("Waiting for fantasies: an RBM run draws them after h1's phase")
    traces = []
    for col, run in enumerate(runs, start=1):
        images = np.asarray(samples[run], dtype=np.float64).reshape(-1, *image_shape)
        big, index = tiled(images)
        low, high = float(np.nanmin(images)), float(np.nanmax(images))
        xref, yref = axis_ids(1, col, len(runs))
        traces.append({
            "type": "heatmap", "z": big.astype(np.float32), "customdata": index.astype(np.int16), "xaxis": xref,
            "yaxis": yref, "colorscale": INK,
            "zmin": low, "zmax": high if high > low else low + 1, "showscale": False, "hoverongaps": False,
            "name": run_label(run, labels),
            "hovertemplate": f"{run_label(run, labels)} · fantasy %{{customdata}}: %{{z:.2f}}<extra></extra>",
        })
    return _panels(traces, runs, labels, square=True)


def fantasies_words(samples: Mapping[str, np.ndarray]) -> list[str]:
    """What `fantasies_figure` draws, in words for the page to show above it."""
    runs = _sampled(samples)
    if not runs:
        return []
    count = len(np.asarray(samples[runs[0]]))
    return [f"{count} samples the RBM dreams up: {FANTASY_STEPS} Gibbs steps from noise, after h1's phase. "
            "Black is ink."]


def _sampled(samples: Mapping[str, np.ndarray]) -> list[str]:
    return [run for run in sorted(samples) if np.asarray(samples[run]).size]


def _filter_tiles(run: str, units: np.ndarray, shape: tuple[int, int], col: int, cols: int,
                  labels: Mapping[str, str] | None) -> dict:
    images = units.reshape(-1, *shape)
    peak = np.abs(images).max(axis=(1, 2), keepdims=True)
    scaled = np.divide(images, peak, out=np.zeros_like(images), where=peak > 0)
    big, index = tiled(scaled)
    raw, _ = tiled(images)
    xref, yref = axis_ids(1, col, cols)
    label = run_label(run, labels)
    return {
        "type": "heatmap", "z": big.astype(np.float32), "xaxis": xref, "yaxis": yref,
        "customdata": np.stack([index, raw], axis=-1).astype(np.float32),  # float32: half the bytes sent
        "colorscale": DIVERGING, "zmin": -1, "zmax": 1, "showscale": False, "hoverongaps": False, "name": label,
        "hovertemplate": f"{label} · unit %{{customdata[0]}}: weight %{{customdata[1]:.3g}} on this pixel of the "
                         "net's input (%{z:.0%} of the unit's largest |weight|)<extra></extra>",
    }


def _arrows(run: str, units: np.ndarray, col: int, cols: int, labels: Mapping[str, str] | None) -> dict:
    n = len(units)
    x = np.column_stack([np.zeros(n), units[:, 0], np.full(n, np.nan)]).ravel()
    y = np.column_stack([np.zeros(n), units[:, 1], np.full(n, np.nan)]).ravel()
    unit = np.repeat(np.arange(n), 3)
    xref, yref = axis_ids(1, col, cols)
    label = run_label(run, labels)
    return {
        "type": "scatter", "mode": "lines+markers", "x": x, "y": y, "customdata": unit, "xaxis": xref,
        "yaxis": yref, "name": label, "showlegend": False, "line": {"color": run_color(run), "width": 1.5},
        "marker": {"size": np.tile([0, 6, 0], n), "color": run_color(run)},  # a dot at each tip, none at 0
        "hovertemplate": f"{label} · unit %{{customdata}}: weights (%{{x:.3g}}, %{{y:.3g}})<extra></extra>",
    }


def _rows(run: str, units: np.ndarray, col: int, cols: int, labels: Mapping[str, str] | None) -> dict:
    peak = float(np.abs(units).max()) or 1.0  # one scale per run: rows of few inputs compare across units
    xref, yref = axis_ids(1, col, cols)
    label = run_label(run, labels)
    return {
        "type": "heatmap", "z": units, "xaxis": xref, "yaxis": yref, "colorscale": DIVERGING, "zmin": -peak,
        "zmax": peak, "showscale": False, "name": label,
        "hovertemplate": f"{label} · unit %{{y}}, input %{{x}}: weight %{{z:.3g}}<extra></extra>",
    }


def _panels(traces: list[dict], runs: list[str], labels: Mapping[str, str] | None, *, square: bool,
            arrows: bool = False) -> go.Figure:
    """One panel per run side by side, its label above it, images top row first, square pixels."""
    cols = len(runs)
    layout = grid(1, cols, horizontal_spacing=TILE_SPACING)
    notes = []
    # A panel's run label, in lines that fit the panel on a phone (bold 12 px: about 8 px a character).
    per_line = max(8, int(_panel_px(PHONE_PX, cols) / 8))
    names = {run: run_label_lines(run, labels, per_line) for run in runs}
    extra_lines = max(len(lines) for lines in names.values()) - 1
    for col, run in enumerate(runs, start=1):
        xref, yref = axis_ids(1, col, cols)
        hidden = {"showgrid": False, "zeroline": arrows, "showticklabels": arrows, "ticks": ""}
        layout[axis_key(xref)].update(**hidden, constrain="domain")
        layout[axis_key(yref)].update(**hidden, autorange=True if arrows else "reversed", constrain="domain",
                                      constraintoward="top")  # what a square panel leaves free goes below
        if square:
            layout[axis_key(yref)].update(scaleanchor=xref, scaleratio=1)
        if arrows:
            layout[axis_key(xref)].update(title={"text": "weight on x1"})
            layout[axis_key(yref)].update(title={"text": "weight on x2"})
        notes.append({"text": "<br>".join(f"<b>{line}</b>" for line in names[run]),
                      "xref": f"{xref} domain", "yref": f"{yref} domain",
                      "x": 0.5, "y": 1, "xanchor": "center", "yanchor": "bottom", "showarrow": False,
                      "font": {"size": 12, "color": run_color(run)}})
    height = _square_px(traces, cols) if square and not arrows else PANEL_PX
    label_px = LABEL_LINE_PX * extra_lines  # the top margin: room for each panel's run label, every line of it
    layout.update(height=height + 20 + label_px, annotations=notes, plot_bgcolor="white" if arrows else GAP,
                  showlegend=False, margin={**MARGIN, "t": MARGIN["t"] + label_px})
    return make_figure(traces, layout)


def _square_px(traces: list[dict], cols: int) -> int:
    """The panels' height for tiles with square pixels: what the tallest run's tile grid takes at its panel's
    width in a figure FIGURE_PX wide, at most PANEL_PX. The server does not know the screen's width: at this
    middle width, a phone (358 px) leaves a band below the images and a wide page some room beside them."""
    panel = _panel_px(FIGURE_PX, cols)
    aspect = max(len(t["z"]) / max(1, len(t["z"][0])) for t in traces)  # tile rows over columns, as drawn
    return int(min(PANEL_PX, max(80, panel * aspect)))


def _panel_px(figure_px: float, cols: int) -> float:
    """One run's panel width in a figure `figure_px` wide with `cols` panels side by side."""
    return figure_px * (1 - TILE_SPACING * (cols - 1)) / cols


def _waiting(message: str = "Waiting for the first layer's weights…") -> go.Figure:
    return waiting_figure(message, height=PANEL_PX)
