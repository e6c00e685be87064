"""The net at a glance: every layer of a net, input to output, one column each, coloured by one per-layer
quantity at the latest step (gradient size, saturated or inactive fraction, dead units or activation spread), so one
picture shows where the signal dies. Several runs stack one panel per run on the same columns and one
colour scale, so they compare column by column.

A layer of up to MAX_UNITS units is drawn unit by unit (one circle each, all in the layer's colour: the
engine measures per layer, not per unit); a wider one is one bar. Edges between columns are a few light
lines (at most MAX_EDGES per gap) or else a light band, never one per weight. A layer whose gradient is
exactly 0 is drawn in NO_GRADIENT grey, not dropped from the log scale; the input, and quantities the engine
does not measure for a layer (only the gradient is measured at `out`), are white. Budget: about 6 traces
per run and a few thousand numbers for four runs; a few milliseconds to build.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from app.charts.arrays import FLAT_FRACTIONS, stat_series
from app.charts.style import MARGIN, axis_key, decade, make_figure, run_color, run_label, stack
from engine.vocabulary.layers import layer_names

MAX_UNITS = 16  # layers this narrow are drawn unit by unit; wider ones as one bar
BAR_ANCHORS = 4  # points on a bar's side that edges start and end at
MAX_EDGES = 64  # lines between two columns at most; more would be a band
NO_GRADIENT = "#9E9E9E"  # a layer whose gradient is exactly 0
NOT_MEASURED = "#FFFFFF"  # the input, and stats not measured (yet) for a layer: white ...
NOT_MEASURED_LINE = "#A7B0BD"  # ... with a light outline (and bars hatched)
OUTLINE = "#5A6B80"
EDGE = "rgba(120,130,150,0.25)"
BAND = "rgba(120,130,150,0.12)"
PANEL_PX = 190  # height of one run's panel among several; a single run's figure is SINGLE_PX high
SINGLE_PX = 300
_REDS = [[0.0, "#FDD49E"], [0.33, "#FC8D59"], [0.67, "#D7301F"], [1.0, "#7F0000"]]  # 0% coloured, never white


@dataclass(frozen=True)
class Quantity:
    """A per-layer stat of the layers table as the diagram colours it."""

    stat: str  # the engine's name (ARCHITECTURE.md, "What is measured")
    label: str  # what the selector says
    meaning: str  # the stat in plain words, for hover text
    log: bool  # colour by log10 of the value
    colorscale: str | list
    fixed: tuple[float, float] | None = None  # a fixed colour range; else from the data


# The quantities the diagram can show, the default first.
NETWORK_QUANTITIES: dict[str, Quantity] = {
    "gradient": Quantity("grad_preact_rms", "gradient size", "gradient size (RMS of dL/dz)", True, "Viridis"),
    # each run reports one of these two, the one its activation has (sigmoid, tanh: saturated; ReLU-like:
    # inactive); the other's layers are white, not measured
    "saturated": Quantity("saturated_frac", "saturated (flat tails)",
                          "saturated: in the flat tails, slope below 5% of its maximum", False, _REDS, (0.0, 1.0)),
    "inactive": Quantity("inactive_frac", "inactive (flat negative side)",
                         "inactive: on the flat negative side, slope below 5% of its maximum", False, _REDS,
                         (0.0, 1.0)),
    "dead": Quantity("dead_frac", "dead units", "dead units (zero slope for every example)", False, _REDS,
                     (0.0, 1.0)),
    "spread": Quantity("act_std", "activation spread", "activation spread (std of the outputs)", False, "Viridis"),
}


def network_figures(layers: pd.DataFrame | None, sizes: Mapping[str, Sequence[int]], *,
                    labels: Mapping[str, str] | None = None) -> dict[str, go.Figure]:
    """network_figure for every quantity, by `network_<quantity>`: what a page's figure cache holds."""
    return {f"network_{name}": network_figure(layers, sizes, name, labels=labels) for name in NETWORK_QUANTITIES}


def network_figure(layers: pd.DataFrame | None, sizes: Mapping[str, Sequence[int]], quantity: str = "gradient", *,
                   labels: Mapping[str, str] | None = None,
                   color_range: tuple[float, float] | None = None) -> go.Figure:
    """The diagram of the runs in `sizes` (run id -> layer widths, input first: engine.vocabulary.config's
    layer_sizes), one panel per run stacked on the same columns (input, h1..hL of the deepest run, out), each
    layer coloured by `quantity` (a key of NETWORK_QUANTITIES) at the run's latest step, on one colour scale
    for every panel: `color_range` (from network_color_range, for diagrams drawn apart that must compare), or
    else the range of these runs. Before any data the nets are drawn white."""
    spec = NETWORK_QUANTITIES[quantity]
    runs = list(sizes)
    depth = max((len(widths) - 2 for widths in sizes.values()), default=0)
    columns = ["input", *layer_names(depth)]
    latest = _latest(layers, spec.stat, runs)
    cmin, cmax = color_range if color_range is not None else _color_range(spec, latest.values())
    multi = len(runs) > 1 or bool(labels)
    layout = stack(max(1, len(runs)), vertical_spacing=0.12 / max(1, len(runs)))
    traces: list[dict] = []
    annotations: list[dict] = []
    for row, run in enumerate(runs, start=1):
        yref = "y" if row == 1 else f"y{row}"
        widths = list(sizes[run])
        names = ["input", *layer_names(len(widths) - 2)]
        x = [columns.index(name) if name != "out" else len(columns) - 1 for name in names]
        who = f"{run_label(run, labels)}: " if multi else ""
        traces += _panel(spec, names, widths, x, latest.get(run, {}), yref, who)
        layout[axis_key(yref)].update(range=[-1.25, 1.3], visible=False, fixedrange=True)
        if multi:
            annotations.append({"text": f"<b>{run_label(run, labels)}</b>", "xref": "paper", "yref": f"{yref} domain",
                                "x": 0, "y": 1, "xanchor": "left", "yanchor": "bottom", "showarrow": False,
                                "font": {"size": 12, "color": run_color(run)}})
    traces += _legend_keys(spec)
    layout["xaxis"].update(tickmode="array", tickvals=list(range(len(columns))), ticktext=columns, showgrid=False,
                           zeroline=False, range=[-0.6, len(columns) - 0.4], fixedrange=True,
                           title={"text": "layer (input → output)"})
    layout.update(
        height=SINGLE_PX if len(runs) <= 1 else 70 + PANEL_PX * len(runs), showlegend=True, bargap=0,
        annotations=annotations,
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "right", "x": 1, "font": {"size": 11}},
        coloraxis={"colorscale": spec.colorscale, "cmin": cmin, "cmax": cmax, "colorbar": _colorbar(spec, cmin, cmax)},
        margin={**MARGIN, "t": 34},
    )
    return make_figure(traces, layout)


def network_color_range(layers: pd.DataFrame | None, runs: Sequence[str], quantity: str = "gradient"
                        ) -> tuple[float, float]:
    """The colour range network_figure gives `runs` drawn together (log10 of the value for a log quantity):
    pass it as `color_range` to draw them apart, one diagram each, on one colour scale."""
    spec = NETWORK_QUANTITIES[quantity]
    return _color_range(spec, _latest(layers, spec.stat, runs).values())


def _latest(layers: pd.DataFrame | None, stat: str, runs: Sequence[str]) -> dict[str, dict[str, tuple[float, int]]]:
    """run -> layer -> (value, step) at the run's last probe step of `stat`."""
    series = stat_series(layers, stat)
    out: dict[str, dict[str, tuple[float, int]]] = {}
    if series is None:
        return out
    for run, layer, rows in series.groups():  # rows sorted by step: the last is the latest
        if run in runs:
            out.setdefault(run, {})[layer] = (float(series.value[rows.stop - 1]), int(series.step[rows.stop - 1]))
    return out


def _color_range(spec: Quantity, per_run: Iterable[dict[str, tuple[float, int]]]) -> tuple[float, float]:
    """One range for every panel of a figure: fixed for fractions; for gradients whole decades around every
    positive value (log10); for spread 0 to the largest value, rounded up. Rounded, so colours hold still
    from one refresh to the next."""
    if spec.fixed is not None:
        return spec.fixed
    values = np.array([v for by_layer in per_run for v, _ in by_layer.values()], dtype=np.float64)
    values = values[np.isfinite(values) & (values > 0)]
    if spec.log:
        if not len(values):
            return -6.0, 0.0
        low, high = math.floor(np.log10(values.min())), math.ceil(np.log10(values.max()))
        return float(low), float(max(high, low + 1))
    if not len(values):
        return 0.0, 1.0
    top = float(values.max())
    step = 10.0 ** math.floor(math.log10(top)) / 2
    return 0.0, math.ceil(top / step) * step


def _colorbar(spec: Quantity, cmin: float, cmax: float) -> dict:
    bar = {"title": {"text": spec.label, "side": "right"}, "thickness": 12, "len": 0.9}
    if spec.log:
        every = max(1, math.ceil((cmax - cmin) / 8))
        ticks = list(range(int(cmin), int(cmax) + 1, every))
        bar.update(tickvals=ticks, ticktext=[decade(t) for t in ticks])
    elif spec.fixed == (0.0, 1.0):
        bar.update(tickformat=".0%")
    return bar


def _panel(spec: Quantity, names: list[str], widths: list[int], x: list[int],
           latest: dict[str, tuple[float, int]], yref: str, who: str) -> list[dict]:
    """One run's traces: edges, then per kind of colour (on the scale, or a fixed one) its circles and bars,
    then the widths above the columns."""
    valued = {"circles": ([], [], [], [], []), "bars": ([], [], [], [], [])}  # x, y, colour value, hover, size
    fixed = {"circles": ([], [], [], [], []), "bars": ([], [], [], [], [])}  # x, y, colour, hover text, size
    anchors = []
    for position, (name, width) in enumerate(zip(names, widths)):
        color, words = _layer_color(spec, name, position, latest.get(name))
        text = f"{who}<b>{name}</b> · {width:,} {'input' if position == 0 else 'unit'}{'s' if width != 1 else ''}"
        text += f"<br>{words}"
        kind = "circles" if width <= MAX_UNITS else "bars"
        ys = _unit_ys(width) if kind == "circles" else np.zeros(1)
        target = valued if isinstance(color, float) else fixed
        xs, yy, colors, texts, sizes = target[kind]
        xs += [x[position]] * len(ys)
        yy += ys.tolist()
        colors += [color] * len(ys)
        texts += [text] * len(ys)
        sizes += [15 if width <= 6 else 11 if width <= 10 else 8] * len(ys)
        anchors.append(_unit_ys(width) if kind == "circles" else np.linspace(-0.75, 0.75, BAR_ANCHORS))
    traces = _edges(x, widths, anchors, yref)
    for target, on_scale in ((valued, True), (fixed, False)):
        for kind, (xs, yy, colors, texts, sizes) in target.items():
            if xs:
                traces.append(_units(kind, xs, yy, colors, texts, sizes, on_scale, yref))
    traces.append({"type": "scatter", "mode": "text", "x": x, "y": [1.18] * len(x), "yaxis": yref,
                   "text": [f"{w:,}" for w in widths], "textfont": {"size": 10, "color": "#6B6B6B"},
                   "hoverinfo": "skip", "showlegend": False})
    return traces


def _layer_color(spec: Quantity, name: str, position: int, value: tuple[float, int] | None) -> tuple[float | str, str]:
    """A layer's colour (a value on the colour scale, or a fixed colour) and its hover words."""
    if position == 0:
        return NOT_MEASURED, "the data's features; nothing is measured at the input"
    if value is None:
        if name == "out" and spec.stat != "grad_preact_rms":
            return NOT_MEASURED, f"{spec.label}: measured for hidden layers only"
        if spec.stat in FLAT_FRACTIONS:
            return NOT_MEASURED, f"{spec.label}: not measured for this activation (or no data yet)"
        return NOT_MEASURED, f"{spec.label}: no data yet"
    v, step = value
    if not math.isfinite(v):
        return NOT_MEASURED, f"{spec.meaning}: not a number (the run diverged), step {step:,}"
    if spec.log:
        if v <= 0:
            return NO_GRADIENT, f"no gradient: dL/dz is exactly 0, so this layer cannot learn (step {step:,})"
        return math.log10(v), f"{spec.meaning}: {v:.3g}, step {step:,}"
    shown = f"{v:.1%}" if spec.fixed == (0.0, 1.0) else f"{v:.3g}"
    return float(v), f"{spec.meaning}: {shown}, step {step:,}"


def _unit_ys(n: int) -> np.ndarray:
    """Heights of a narrow layer's n units, centred on 0 within [-0.95, 0.95]."""
    gap = min(0.45, 1.9 / max(n - 1, 1))
    return (np.arange(n) - (n - 1) / 2) * gap


def _units(kind: str, xs: list, ys: list, colors: list, texts: list, sizes: list, on_scale: bool, yref: str) -> dict:
    """Circles (one per unit) or bars (one per wide layer), coloured on the figure's colour scale or fixed."""
    colors = np.asarray(colors)
    marker: dict = {"color": colors, "line": {"color": OUTLINE, "width": 1}}
    if kind == "circles":
        marker["size"] = np.asarray(sizes)
    if on_scale:
        marker["coloraxis"] = "coloraxis"
    else:  # not measured: white with a light outline, a bar hatched
        hollow = colors == NOT_MEASURED
        marker["line"] = {"color": np.where(hollow, NOT_MEASURED_LINE, OUTLINE), "width": 1.5}
        if kind == "bars":
            marker["pattern"] = {"shape": np.where(hollow, "/", ""), "fgcolor": NOT_MEASURED_LINE, "solidity": 0.2}
    common = {"x": np.asarray(xs), "yaxis": yref, "hovertext": np.asarray(texts), "showlegend": False,
              "hovertemplate": "%{hovertext}<extra></extra>", "marker": marker}
    if kind == "bars":
        return {"type": "bar", **common, "y": np.full(len(xs), 1.9), "base": -0.95, "width": 0.3}
    return {"type": "scatter", "mode": "markers", **common, "y": np.round(ys, 3)}


def _edges(x: list[int], widths: list[int], anchors: list[np.ndarray], yref: str) -> list[dict]:
    """Light lines between neighbouring columns, unit to unit (a few anchor points on a bar's side) where a
    gap needs at most MAX_EDGES of them; a light band between the two columns where it would need more."""
    lines: list[list[float]] = [[], []]
    bands: list[list[float]] = [[], []]
    for i in range(len(widths) - 1):
        left, right = anchors[i], anchors[i + 1]
        x0 = x[i] + (0.15 if widths[i] > MAX_UNITS else 0.0)
        x1 = x[i + 1] - (0.15 if widths[i + 1] > MAX_UNITS else 0.0)
        if len(left) * len(right) <= MAX_EDGES:
            for a in left:
                for b in right:
                    lines[0] += [x0, x1, None]
                    lines[1] += [round(float(a), 3), round(float(b), 3), None]
        else:
            bands[0] += [x0, x1, x1, x0, x0, None]
            bands[1] += [round(float(v), 3) for v in (left[0], right[0], right[-1], left[-1], left[0])] + [None]
    common = {"type": "scatter", "yaxis": yref, "hoverinfo": "skip", "showlegend": False}
    return [{**common, "mode": "lines", "x": lines[0], "y": lines[1], "line": {"color": EDGE, "width": 1}},
            {**common, "mode": "lines", "x": bands[0], "y": bands[1], "fill": "toself", "fillcolor": BAND,
             "line": {"width": 0}}]


def _legend_keys(spec: Quantity) -> list[dict]:
    """Legend entries for the colours off the scale: grey for no gradient at all, white for not measured."""
    keys = [(NOT_MEASURED, "not measured")]
    if spec.log:
        keys.insert(0, (NO_GRADIENT, "no gradient (exactly 0)"))
    return [{"type": "scatter", "mode": "markers", "x": [None], "y": [None], "name": name, "hoverinfo": "skip",
             "marker": {"color": color, "size": 10,
                        "line": {"color": NOT_MEASURED_LINE if color == NOT_MEASURED else OUTLINE, "width": 1.5}}}
            for color, name in keys]
