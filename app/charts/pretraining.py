"""Greedy layer-wise pre-training (issue 13): how each layer's unsupervised phase went, and what the first
layer learned.

- `pretraining_figure`: left, each layer's reconstruction error over its epochs (one line per run and layer,
  the run's colour light near the input and dark near the output; log y when the values span a decade or
  more); right, the linear probe's accuracy (or MSE, for regression) read from each layer's code after its
  phase, one line per run across h1..hL. Words above say, per run, how far h1's error fell and what the probe
  reads.
- `filters_figure` (app/charts/tiles.py draws the images): the first layer's weights, one small image per unit.
- `fantasies_figure`: the RBM's fantasy samples, one grey image each.

The table is engine/pretraining/greedy.py's: run, layer, epoch, metric, value.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from app.charts.arrays import depth_order
from app.charts.style import (
    LEGEND,
    MARGIN,
    axis_ids,
    axis_key,
    grid,
    log_axis,
    make_figure,
    nice_ticks,
    run_color,
    run_label,
    shade,
    waiting_figure,
    words_above,
)
from app.charts.tiles import fantasies_figure, filters_figure

__all__ = ["fantasies_figure", "filters_figure", "pretraining_figure", "pretraining_words"]

RECONSTRUCTION = "reconstruction_error"
PROBES = {"probe_accuracy": "probe accuracy", "probe_mse": "probe MSE"}
HEIGHT = 340
SPACING = 0.14  # between the panels: room for the right one's tick labels and title
ACCURACY_TICKS = [0.0, 0.25, 0.5, 0.75, 1.0]


def pretraining_figure(pretrain: pd.DataFrame | None, *, labels: Mapping[str, str] | None = None,
                       runs: Sequence[str] | None = None) -> go.Figure:
    """Reconstruction error per layer over its epochs (left) and the probe read from each layer's code (right),
    with words per run above."""
    table = _shown(pretrain, runs)
    if table is None:
        return waiting_figure(height=HEIGHT)
    layout = grid(1, 2, horizontal_spacing=SPACING)
    traces = _reconstruction(table, layout, labels) + _probe(table, layout, labels)
    note, extra = words_above(pretraining_words(table, labels=labels))
    layout.update(height=HEIGHT + extra, annotations=[note], legend={**LEGEND, "yanchor": "top", "y": -0.3},
                  margin={**MARGIN, "t": 50 + extra, "b": 70})  # the legend below the axis titles
    return make_figure(traces, layout)


def _shown(pretrain: pd.DataFrame | None, runs: Sequence[str] | None) -> pd.DataFrame | None:
    """The rows of the shown runs with a metric this chart draws; None when there are none (yet)."""
    if pretrain is None or pretrain.empty:
        return None
    keep = pretrain["metric"].isin([RECONSTRUCTION, *PROBES])
    if runs is not None:
        keep &= pretrain["run"].isin(list(runs))
    table = pretrain[keep]
    return None if table.empty else table


def _reconstruction(table: pd.DataFrame, layout: dict, labels: Mapping[str, str] | None) -> list[dict]:
    xref, yref = axis_ids(1, 1, 2)
    rows = table[table["metric"] == RECONSTRUCTION]
    traces = []
    for run in sorted(rows["run"].unique()):
        mine = rows[rows["run"] == run]
        layers = depth_order(mine["layer"].unique())
        label = run_label(run, labels)
        for position, layer in enumerate(layers):
            line = mine[mine["layer"] == layer].sort_values("epoch")
            depth = position / (len(layers) - 1) if len(layers) > 1 else 0.5  # one layer: the run's own colour
            tone = shade(run_color(run), depth)
            traces.append({
                "type": "scatter", "mode": "lines+markers", "x": line["epoch"].to_numpy(),
                "y": line["value"].to_numpy(dtype=np.float64), "xaxis": xref, "yaxis": yref,
                "name": f"{label} · {layer}", "legendgroup": run, "line": {"color": tone, "width": 2},
                "marker": {"size": 5, "color": tone},
                "hovertemplate": f"{label} · {layer}'s reconstruction error (mean squared, on the layer's input): "
                                 "%{y:.3g} after epoch %{x}<extra></extra>",
            })
    values = rows["value"].to_numpy(dtype=np.float64)
    positives = values[np.isfinite(values) & (values > 0)]
    axis = layout[axis_key(yref)]
    if len(positives) and positives.max() >= 10 * positives.min():  # spans a decade: each layer's fall shows
        log_axis(axis, positives, has_zero=False)
    axis.update(title={"text": "reconstruction error (MSE)"})
    layout[axis_key(xref)].update(title={"text": "epoch of the layer's phase"}, rangemode="tozero")
    return traces


def _probe(table: pd.DataFrame, layout: dict, labels: Mapping[str, str] | None) -> list[dict]:
    xref, yref = axis_ids(1, 2, 2)
    rows = table[table["metric"].isin(list(PROBES))]
    every_layer = depth_order(table["layer"].unique())
    layout[axis_key(xref)].update(type="category", categoryorder="array", categoryarray=every_layer,
                                  range=[-0.5, len(every_layer) - 0.5], title={"text": "code of layer"})
    metrics = set(rows["metric"])
    axis = layout[axis_key(yref)]
    if metrics == {"probe_accuracy"}:
        axis.update(range=[-0.02, 1.02], tickmode="array", tickvals=ACCURACY_TICKS,
                    ticktext=[f"{v:.0%}" for v in ACCURACY_TICKS], title={"text": "linear probe's accuracy"})
    else:
        values = rows["value"].to_numpy(dtype=np.float64)
        top = float(np.nanmax(values)) if len(values) and np.isfinite(values).any() else 1.0
        axis.update(rangemode="tozero", title={"text": " / ".join(PROBES[m] for m in sorted(metrics)) or "probe"},
                    **nice_ticks(0, top if top > 0 else 1.0, 4))
    traces = []
    for run in sorted(rows["run"].unique()):
        mine = rows[rows["run"] == run]
        layers = depth_order(mine["layer"].unique())
        values = [float(mine.loc[mine["layer"] == layer, "value"].iloc[-1]) for layer in layers]
        metric = mine["metric"].iloc[0]
        label = run_label(run, labels)
        shown = "%{y:.1%}" if metric == "probe_accuracy" else "%{y:.3g}"
        traces.append({
            "type": "scatter", "mode": "lines+markers", "x": layers, "y": np.asarray(values), "xaxis": xref,
            "yaxis": yref, "name": f"{label} · {PROBES[metric]}", "legendgroup": run, "showlegend": False,
            "line": {"color": run_color(run), "width": 2}, "marker": {"size": 8, "color": run_color(run)},
            "hovertemplate": f"{label} · {PROBES[metric]} of a linear read-out of %{{x}}'s code: {shown}"
                             "<extra></extra>",
        })
    return traces


def pretraining_words(pretrain: pd.DataFrame | None, *, labels: Mapping[str, str] | None = None,
                      runs: Sequence[str] | None = None) -> list[str]:
    """One sentence per run, from the table: how h1's reconstruction error moved over its epochs, and what the
    probe reads from the codes (the first layer's and, when deeper, the top one's)."""
    table = _shown(pretrain, runs)
    if table is None:
        return []
    words = []
    for run in sorted(table["run"].unique()):
        mine = table[table["run"] == run]
        parts = [part for part in (_fall(mine), _reads(mine)) if part]
        if parts:
            words.append(f"{run_label(run, labels)}: " + "; ".join(parts))
    return words


def _fall(mine: pd.DataFrame) -> str:
    rows = mine[mine["metric"] == RECONSTRUCTION]
    if rows.empty:
        return ""
    first = depth_order(rows["layer"].unique())[0]
    line = rows[rows["layer"] == first].sort_values("epoch")
    start, end = float(line["value"].iloc[0]), float(line["value"].iloc[-1])
    epochs = int(line["epoch"].iloc[-1] - line["epoch"].iloc[0])
    if len(line) < 2 or not (math.isfinite(start) and math.isfinite(end)):
        return f"{first}'s reconstruction error {end:.2g}"
    verb = "fell" if end < start else "rose" if end > start else "stayed"
    span = f"in {epochs} epoch{'s' if epochs != 1 else ''}"
    if verb == "stayed":
        return f"{first}'s reconstruction error stayed at {end:.2g} {span}"
    return f"{first}'s reconstruction error {verb} from {start:.2g} to {end:.2g} {span}"


def _reads(mine: pd.DataFrame) -> str:
    rows = mine[mine["metric"].isin(list(PROBES))]
    if rows.empty:
        return ""
    layers = depth_order(rows["layer"].unique())
    ends = [layers[0]] if len(layers) == 1 else [layers[0], layers[-1]]
    values = {layer: rows[rows["layer"] == layer] for layer in ends}
    text = [_probe_value(values[layer]) + f" from {layer}'s code" for layer in ends]
    lead = "the probe reads " if rows["metric"].iloc[0] == "probe_accuracy" else "the probe's MSE is "
    return lead + " and ".join(text)


def _probe_value(rows: pd.DataFrame) -> str:
    value = float(rows["value"].iloc[-1])
    return f"{value:.0%}" if rows["metric"].iloc[-1] == "probe_accuracy" else f"{value:.3g}"
