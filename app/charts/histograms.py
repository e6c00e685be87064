"""Histograms over time as heatmaps: one run's layers stacked (step across, value up, colour the count on
a log scale), or several runs side by side on one step axis and one colour scale, each with its own
value axis.

Heatmaps stay cheap: at most MAX_PANELS panels (MAX_GRAD_PANELS for gradients, MAX_GRID_ROWS rows side by
side; evenly picked layers, first and last kept), MAX_COLUMNS steps each, and one byte per cell (log-count
colour codes).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from app.charts.arrays import HistCube, as_cube, depth_order, pick, thin
from app.charts.style import (
    COUNT_SCALE,
    MARGIN,
    axis_ids,
    axis_key,
    decade,
    grid,
    make_figure,
    nice_ticks,
    run_color,
    run_label,
    stack,
    waiting_figure,
)

MAX_PANELS = 12  # histogram heatmap panels per figure
MAX_GRID_ROWS = 8  # layers (rows) of a side-by-side histogram grid
MAX_COLUMNS = 64  # steps per heatmap panel
PANEL_HEIGHT = 72  # px per histogram heatmap panel
MAX_GRAD_PANELS = 6  # |dL/dz| histograms: fewer panels ...
GRAD_PANEL_HEIGHT = 110  # ... and taller, so fourteen decades stay readable
GRID_SPACING = 0.07  # between the columns of a side-by-side grid: room for each column's value labels
TICK_SIZE = 10
ZERO_STRIP = 3  # the grad heatmap's "exact zero" strip is this many bins tall
LOG_COUNT_STEPS = 36  # heatmap colour codes per decade of count: a bin of 4 M counts still fits a byte


def value_axis(cube: HistCube, layer: int, every: int = 3) -> tuple[np.ndarray, dict]:
    """Bin edges for the heatmap's y (with the zero strip below for grad) and the axis settings: the range
    of the layer's own bins, with explicit ticks (round values; for grad, log10 |gradient| every `every`
    decades, labelled 1e-9 ... 1, and "0" on the zero strip)."""
    edges = cube.edges(layer)
    if cube.zeros is None:
        return edges, {"range": [float(edges[0]), float(edges[-1])], **nice_ticks(edges[0], edges[-1], 3)}
    width = edges[1] - edges[0]
    zero_lo = edges[0] - ZERO_STRIP * width
    edges = np.concatenate([[zero_lo], edges])
    top = math.floor(edges[-1])
    decades = [d for d in range(top - top % every, math.ceil(edges[1]), -every) if d > edges[1] + 1.5][::-1]
    ticks = [float((zero_lo + edges[1]) / 2), *map(float, decades)]
    return edges, {"range": [float(zero_lo), float(edges[-1])], "tickmode": "array", "tickvals": ticks,
                   "ticktext": ["0", *[decade(d) for d in decades]]}


def _count_ticks(zmax: int) -> dict:
    """Colour bar ticks in counts (0, 1, 10, 100, ...) for colour codes log10(1 + count) * LOG_COUNT_STEPS."""
    counts = [0] + [10**k for k in range(7) if math.log10(1 + 10**k) * LOG_COUNT_STEPS <= max(zmax, 1) + 0.5]
    values = [round(math.log10(1 + c) * LOG_COUNT_STEPS, 2) for c in counts]
    text = [f"{c // 1000}k" if c >= 1000 else str(c) for c in counts]
    return {"tickmode": "array", "tickvals": values, "ticktext": text}


def histogram_heatmap(hists: pd.DataFrame | HistCube | None, run: str, kind: str = "act", *,
                      max_panels: int | None = None, max_columns: int = MAX_COLUMNS) -> go.Figure:
    """Histograms over time for one run: one panel per hidden layer (depth order, input at the top),
    step on x, bin value on y (log10 |gradient| for kind 'grad', with a strip for exact zeros at the
    bottom), colour the count on a log scale (one-byte codes log10(1 + count) * LOG_COUNT_STEPS). Deep
    nets show at most `max_panels` evenly picked layers (gradients: fewer, taller panels, each spanning
    fourteen decades)."""
    cube = as_cube(hists, run, kind)
    if cube is None:
        return waiting_figure(height=PANEL_HEIGHT * 3)
    grad = cube.zeros is not None
    panel_height = GRAD_PANEL_HEIGHT if grad else PANEL_HEIGHT
    shown = pick(len(cube.layers), max_panels or (MAX_GRAD_PANELS if grad else MAX_PANELS))
    columns = thin(len(cube.steps), max_columns)
    x = cube.steps[columns]
    n = len(shown)
    layout = stack(n, vertical_spacing=min(0.04, 0.3 / max(1, n)))
    counts = cube.counts[columns][:, shown, :]  # [S', n, B]
    if cube.zeros is not None:  # the exact-zero strip goes below the value bins
        counts = np.concatenate([cube.zeros[columns][:, shown, None], counts], axis=2)
    # Colour codes: LOG_COUNT_STEPS per decade of count, one byte per cell (a quarter of float32's JSON).
    z_all = np.minimum(np.rint(np.log10(1.0 + counts.transpose(1, 2, 0)) * LOG_COUNT_STEPS), 255).astype(np.uint8)
    zmax = int(z_all.max(initial=0))
    traces = []
    for row, layer in enumerate(shown, start=1):
        name = cube.layers[layer]
        edges, ticks = value_axis(cube, layer, every=3 if grad else 4)
        yref = axis_ids(row, 1, 1)[1]
        traces.append({
            "type": "heatmap", "x": x, "y": edges, "z": z_all[row - 1], "coloraxis": "coloraxis",
            "xaxis": "x", "yaxis": yref, "name": name, "hovertemplate": _hover(kind, name),
        })
        layout[axis_key(yref)].update(title={"text": name, "font": {"size": 12}}, showgrid=False, zeroline=False,
                                      tickfont={"size": TICK_SIZE}, **ticks)
    layout["xaxis"].update(title={"text": "step"}, tickfont={"size": TICK_SIZE})
    layout["coloraxis"] = {"colorscale": COUNT_SCALE, "cmin": 0, "cmax": max(zmax, 1),
                           "colorbar": {"title": {"text": "count", "side": "right"}, "thickness": 12,
                                        **_count_ticks(zmax)}}
    annotations = []
    if n < len(cube.layers):
        annotations.append({"text": f"{n} of {len(cube.layers)} layers shown", "xref": "paper", "yref": "paper",
                            "x": 1, "y": 1, "xanchor": "right", "yanchor": "bottom", "showarrow": False,
                            "font": {"size": 11, "color": "#888888"}})
    layout.update(height=60 + panel_height * n, annotations=annotations, margin={**MARGIN, "t": 24})
    return make_figure(traces, layout)


def histogram_grid(hists: pd.DataFrame | None, runs: Sequence[str], kind: str = "act", *,
                   labels: Mapping[str, str] | None = None, max_rows: int = MAX_GRID_ROWS,
                   max_columns: int = MAX_COLUMNS) -> go.Figure:
    """Histograms over time of several runs side by side: one column per run (its label on top, in its
    colour), one row per hidden layer (depth order, input at the top). Every cell shares the step axis
    and one colour scale; each cell has its own value axis over its run's own bins (sigmoid's [0, 1]
    beside a ReLU's wide span would otherwise shrink to a line), labelled in every column. Runs of
    different depths leave the rows they lack empty."""
    cubes = [(run, as_cube(hists, run, kind)) for run in runs]
    cubes = [(run, cube) for run, cube in cubes if cube is not None]
    if not cubes:
        return waiting_figure(height=PANEL_HEIGHT * 3)
    names = depth_order(name for _, cube in cubes for name in cube.layers)
    shown = [names[i] for i in pick(len(names), max_rows)]
    rows, cols = len(shown), len(cubes)
    layout = grid(rows, cols, shared_xaxes=True, vertical_spacing=min(0.04, 0.3 / max(1, rows)),
                  horizontal_spacing=GRID_SPACING if cols > 1 else None)
    traces, zmax, x_hi = [], 0, 0
    for col, (run, cube) in enumerate(cubes, start=1):
        columns = thin(len(cube.steps), max_columns)
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
            edges, ticks = value_axis(cube, layer, every=4)
            xref, yref = axis_ids(row, col, cols)
            label = run_label(run, labels)
            traces.append({
                "type": "heatmap", "x": cube.steps[columns], "y": edges, "z": z, "coloraxis": "coloraxis",
                "xaxis": xref, "yaxis": yref, "name": f"{label} {name}", "hovertemplate": _hover(kind, name, label),
            })
            axis = layout[axis_key(yref)]
            axis.update(showgrid=False, zeroline=False, tickfont={"size": TICK_SIZE}, **ticks)
            if col == 1:
                axis.update(title={"text": name, "font": {"size": 12}})
    anchor_x = axis_ids(rows, 1, cols)[0]  # every cell's step axis follows the bottom-left one
    layout[axis_key(anchor_x)].update(range=[0, max(x_hi, 1)])
    for col in range(1, cols + 1):
        layout[axis_key(axis_ids(rows, col, cols)[0])].update(title={"text": "step"}, tickfont={"size": TICK_SIZE},
                                                              **nice_ticks(0, max(x_hi, 1), 3))
        for row in range(1, rows + 1):
            xref = axis_ids(row, col, cols)[0]
            if xref != anchor_x:
                layout[axis_key(xref)].update(matches=anchor_x)
    annotations = [{"text": f"<b>{run_label(run, labels)}</b>", "xref": f"{axis_ids(1, col, cols)[0]} domain",
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
    layout.update(height=80 + PANEL_HEIGHT * rows, annotations=annotations, margin={**MARGIN, "t": 30})
    return make_figure(traces, layout)


def _hover(kind: str, layer: str, run_text: str | None = None) -> str:
    """A histogram cell's hover text in plain words: '[run · ]activation at h3: about 0.52 (step 400)'."""
    lead = f"{run_text} · " if run_text else ""
    value = {"act": "activation", "preact": "pre-activation (input of the activation)",
             "grad": "gradient size log10 |dL/dz|"}.get(kind, kind)
    return f"{lead}{value} at {layer}: about %{{y:.2g}} (step %{{x}})<extra></extra>"
