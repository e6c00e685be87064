"""Greedy layer-wise pre-training (issue 13): how each layer's unsupervised phase went, and what the first
layer learned.

- `pretraining_figure`: left, each layer's reconstruction error over its epochs (one line per run and layer,
  the run's colour light near the input and dark near the output; log y when the values span a decade or
  more); right, the linear probe's accuracy (or MSE, for regression) read from each layer's code after its
  phase, one line per run across h1..hL.
- `pretraining_words`: one sentence per run, how far h1's error fell and what the probe reads; the page shows
  them as text above the chart (the browser wraps them, which a figure's text never does).
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
    PAIR_SPACING,
    axis_ids,
    axis_key,
    grid,
    legend_below,
    log_axis,
    make_figure,
    nice_ticks,
    run_color,
    run_label,
    run_name,
    shade,
    value_axis_right,
    waiting_figure,
)
from app.charts.tiles import fantasies_figure, fantasies_words, filters_figure, filters_words

__all__ = ["fantasies_figure", "fantasies_words", "filters_figure", "filters_words", "pretraining_figure",
           "pretraining_words"]

RECONSTRUCTION = "reconstruction_error"
PROBES = {"probe_accuracy": "probe accuracy", "probe_mse": "probe MSE"}
HEIGHT = 380  # the waiting figure's
PANELS_PX = 300  # the panels, their tick labels and titles: the legend's room comes on top
ACCURACY_TICKS = [0.0, 0.25, 0.5, 0.75, 1.0]


def pretraining_figure(pretrain: pd.DataFrame | None, *, labels: Mapping[str, str] | None = None,
                       runs: Sequence[str] | None = None) -> go.Figure:
    """Reconstruction error per layer over its epochs (left) and the probe read from each layer's code (right)."""
    table = _shown(pretrain, runs)
    if table is None:
        return waiting_figure(height=HEIGHT)
    layout = grid(1, 2, horizontal_spacing=PAIR_SPACING)
    traces = _reconstruction(table, layout, labels) + _probe(table, layout, labels)
    value_axis_right(layout, axis_ids(1, 2, 2)[1])
    legend_below(layout, traces, PANELS_PX)
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
    rows = table[table["metric"] == RECONSTRUCTION].sort_values("epoch", kind="stable")
    lines = {key: line for key, line in rows.groupby(["run", "layer"], sort=False)}  # one pass, not one per line
    traces = []
    for run in sorted({run for run, _ in lines}):
        layers = depth_order(layer for r, layer in lines if r == run)
        label = run_label(run, labels)
        for position, layer in enumerate(layers):
            line = lines[(run, layer)]
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
    layout[axis_key(xref)].update(title={"text": "epoch (per layer)"}, rangemode="tozero")
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
    for run, mine in rows.groupby("run", sort=True):
        last = mine.groupby("layer", sort=False)["value"].last()
        layers = depth_order(last.index)
        values = [float(last[layer]) for layer in layers]
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
    probe reads from the codes (the first layer's and, when deeper, the top one's). Plain text: the run's label
    as given, for the page to escape."""
    table = _shown(pretrain, runs)
    if table is None:
        return []
    recon = table[table["metric"] == RECONSTRUCTION].sort_values("epoch", kind="stable")
    lines = {key: line for key, line in recon.groupby(["run", "layer"], sort=False)}
    probes = table[table["metric"].isin(list(PROBES))].groupby(["run", "layer"], sort=False)[["metric", "value"]]
    reads = {key: (str(last["metric"]), float(last["value"])) for key, last in probes.last().iterrows()}
    words = []
    for run in sorted(table["run"].unique()):
        fall = _fall({layer: line for (r, layer), line in lines.items() if r == run})
        read = _reads({layer: value for (r, layer), value in reads.items() if r == run})
        parts = [part for part in (fall, read) if part]
        if parts:
            words.append(f"{run_name(run, labels)}: " + "; ".join(parts))
    return words


def _fall(lines: Mapping[str, pd.DataFrame]) -> str:
    """How the first layer's reconstruction error moved over its epochs so far."""
    if not lines:
        return ""
    first = depth_order(lines)[0]
    line = lines[first]
    start, end = float(line["value"].iloc[0]), float(line["value"].iloc[-1])
    epochs = int(line["epoch"].iloc[-1] - line["epoch"].iloc[0])
    if len(line) < 2 or not (math.isfinite(start) and math.isfinite(end)):
        return f"{first}'s reconstruction error {end:.2g}"
    span = f"in {epochs} epoch{'s' if epochs != 1 else ''}"
    if end == start:
        return f"{first}'s reconstruction error stayed at {end:.2g} {span}"
    return f"{first}'s reconstruction error {'fell' if end < start else 'rose'} from {start:.2g} to {end:.2g} {span}"


def _reads(reads: Mapping[str, tuple[str, float]]) -> str:
    """What the probe reads from the first layer's code and, when deeper, the top one's."""
    if not reads:
        return ""
    layers = depth_order(reads)
    ends = layers[:1] if len(layers) == 1 else [layers[0], layers[-1]]
    accuracy = reads[layers[0]][0] == "probe_accuracy"
    text = [(f"{reads[layer][1]:.0%}" if accuracy else f"{reads[layer][1]:.3g}") + f" from {layer}'s code"
            for layer in ends]
    return ("the probe reads " if accuracy else "the probe's MSE is ") + " and ".join(text)
