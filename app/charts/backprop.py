"""Backprop as a product: the gradient that reaches a layer is the top hidden layer's times one factor per layer
in between. Left: each hidden layer's factor `backward_gain` (RMS of dL/dz here over one layer up; the top
hidden layer's is over `out`) against the line at 1, and the running product, accumulated from the top down:
at layer l the product of the factors of l..h(L-1), which is |dL/dz| at l over |dL/dz| at hL, the h1/top
ratio the gradient chart shows. Right: each layer's mean slope f'(s) (`slope_mean`), one of the things a
factor multiplies by; sigmoid's is never above 0.25, drawn as a labelled line when a sigmoid run is shown.

Layers run input (left) to output (right), as on every depth chart, so the product's line has the gradient
chart's shape: it starts at 1 at the top hidden layer and is read right to left, the way the gradient travels.
One colour per run; several runs overlay. `backprop_words` says in a sentence per run what the numbers mean; the
page shows those sentences as text above the chart.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from app.charts.arrays import depth_order, finite, stat_series
from app.charts.depth import latest_values
from app.charts.style import (
    PAIR_SPACING,
    axis_ids,
    axis_key,
    floor_points,
    grid,
    legend_below,
    log_axis,
    make_figure,
    nice_ticks,
    run_color,
    run_label,
    run_name,
    value_axis_right,
    waiting_figure,
)

SIGMOID_MAX_SLOPE = 0.25  # sigmoid's f'(0) = 1/4, its largest slope
SIGMOID_LINE = "sigmoid's largest slope"
REFERENCE = "#555555"
HEIGHT = 360  # the waiting figure's
PANELS_PX = 270  # the panels, their tick labels and titles: the legend's room comes on top


def backprop_figure(layers: pd.DataFrame | None, *, step: int | None = None, labels: Mapping[str, str] | None = None,
                    runs: Sequence[str] | None = None, activations: Mapping[str, str] | None = None) -> go.Figure:
    """Each hidden layer's factor and the running product from the top down (left, log y, the line at 1) and
    its mean slope f'(s) (right) at the latest probe step of each run (or the last one at or before `step`).
    `activations` (run id -> activation) draws sigmoid's 0.25 line when a sigmoid run is shown."""
    gains, slopes = stat_series(layers, "backward_gain"), stat_series(layers, "slope_mean")
    drawn = _drawn(gains, runs, step)
    if not drawn:
        return waiting_figure(height=HEIGHT)
    layout = grid(1, 2, horizontal_spacing=PAIR_SPACING)
    layout["xaxis"]["domain"] = [0.0, 0.6]  # the product is the point: the left panel gets the room
    layout["xaxis2"]["domain"] = [0.6 + PAIR_SPACING, 1.0]
    traces: list[dict] = []
    every = [finite(values, positive=True) for _, _, factors, product, _ in drawn for values in (factors, product)]
    zeros = any(bool((factors == 0).any() or (product == 0).any()) for _, _, factors, product, _ in drawn)
    all_layers = depth_order(name for _, names, *_ in drawn for name in names)
    positives = np.concatenate([*every, [1.0]])
    floor = log_axis(layout["yaxis"], positives[np.isfinite(positives)], zeros)
    layout["yaxis"].update(title={"text": "factor per layer (log)"})
    sigmoid_shown = False
    for run, names, factors, product, steps in drawn:
        label, color = run_label(run, labels), run_color(run)
        lead = f"{label} · " if len(drawn) > 1 else ""
        ups = [*names[1:], "out"]
        traces.append({
            "type": "scatter", "mode": "markers+lines", "x": names, "y": finite(factors, positive=True),
            "name": f"{lead}factor of each layer", "legendgroup": run,
            "line": {"color": color, "width": 1, "dash": "dot"}, "marker": {"color": color, "size": 9},
            "customdata": np.stack([ups, steps.astype(str)], axis=1),
            "hovertemplate": f"{lead}factor at %{{x}}: %{{y:.3g}} (|dL/dz| at %{{x}} ÷ at %{{customdata[0]}}, "
                             "step %{customdata[1]})<extra></extra>",
        })
        traces.append({
            "type": "scatter", "mode": "lines+markers", "x": names, "y": finite(product, positive=True),
            "name": f"{lead}running product from {names[-1]} down", "legendgroup": run,
            "line": {"color": color, "width": 3}, "marker": {"color": color, "size": 6, "symbol": "diamond"},
            "customdata": steps,
            "hovertemplate": f"{lead}running product at %{{x}}: %{{y:.3g}} (|dL/dz| at %{{x}} ÷ at {names[-1]}, "
                             "step %{customdata})<extra></extra>",
        })
        if floor is not None:
            for values, what in ((factors, "factor"), (product, "running product")):
                dead = values == 0
                if dead.any():
                    traces.append(floor_points(np.asarray(names, dtype=object)[dead], floor, "x", "y", color,
                                               f"{lead}{what} at %{{x}}: exactly 0, no gradient at all"
                                               "<extra></extra>", group=run))
        sigmoid_shown |= (activations or {}).get(run) == "sigmoid"
        if slopes is not None:
            slope_names, slope_values, _ = latest_values(slopes, run, step)
            keep = [i for i, name in enumerate(slope_names) if name != "out"]
            traces.append({
                "type": "scatter", "mode": "lines+markers", "x": [slope_names[i] for i in keep],
                "y": finite(slope_values[keep]), "xaxis": "x2", "yaxis": "y2", "name": f"{lead}mean slope f'(s)",
                "legendgroup": run, "showlegend": False, "line": {"color": color, "width": 2},
                "marker": {"color": color, "size": 6},
                "hovertemplate": f"{lead}mean slope f'(s) at %{{x}}: %{{y:.3g}}<extra></extra>",
            })
    ends = [all_layers[0], all_layers[-1]]
    traces.append({"type": "scatter", "mode": "lines", "x": ends, "y": [1.0, 1.0], "name": "1: passed on unchanged",
                   "legendgroup": "reference", "line": {"color": REFERENCE, "width": 1.5, "dash": "dash"},
                   "hoverinfo": "skip"})
    _slope_panel(layout, slopes, drawn, step)
    if sigmoid_shown:
        traces.append({"type": "scatter", "mode": "lines", "x": ends, "y": [SIGMOID_MAX_SLOPE] * 2, "xaxis": "x2",
                       "yaxis": "y2", "name": SIGMOID_LINE, "showlegend": False,
                       "line": {"color": REFERENCE, "width": 1.5, "dash": "dash"}, "hoverinfo": "skip"})
    annotations = [{"text": SIGMOID_LINE, "xref": "x2 domain", "yref": "y2", "x": 0.02, "y": SIGMOID_MAX_SLOPE,
                    "xanchor": "left", "yanchor": "bottom", "showarrow": False,
                    "font": {"size": 10, "color": REFERENCE}}] if sigmoid_shown else []
    # The narrow right panel's title is short: "layer (input → output)" is wider than it on a phone.
    for ref, title in (("xaxis", "layer (input → output)"), ("xaxis2", "layer")):
        layout[ref].update(type="category", categoryorder="array", categoryarray=all_layers,
                           range=[-0.5, len(all_layers) - 0.5], title={"text": title})
    value_axis_right(layout, "y2")
    legend_below(layout, traces, PANELS_PX)
    layout.update(annotations=annotations)
    return make_figure(traces, layout)


def backprop_words(layers: pd.DataFrame | None, *, step: int | None = None, labels: Mapping[str, str] | None = None,
                   runs: Sequence[str] | None = None, activations: Mapping[str, str] | None = None) -> list[str]:
    """One sentence per run drawn by `backprop_figure` (same arguments): how much of the top's gradient reaches
    h1, and why. Plain text: the run's label as given, for the page to escape."""
    drawn = _drawn(stat_series(layers, "backward_gain"), runs, step)
    return [_why(f"{run_name(run, labels)} · " if len(drawn) > 1 else "", names, factors, product,
                 (activations or {}).get(run)) for run, names, factors, product, _ in drawn]


def _drawn(gains, runs: Sequence[str] | None, step: int | None) -> list[tuple]:
    """Per shown run with hidden layers: (run, hidden layer names, their factors, the running product, the steps
    measured) at its latest probe step (or the last one at or before `step`)."""
    drawn = []
    for run in gains.runs if gains is not None else []:
        if runs is not None and run not in runs:
            continue
        names, factors, steps = latest_values(gains, run, step)
        hidden = [i for i, name in enumerate(names) if name != "out"]
        if hidden:
            factors = factors[hidden]
            drawn.append((run, [names[i] for i in hidden], factors, running_product(factors), steps[hidden]))
    return drawn


def running_product(factors: np.ndarray) -> np.ndarray:
    """Per hidden layer (input first), the product of the factors from the top down to it, the top hidden
    layer's own factor (over `out`) left out: 1 at the top, and at layer l |dL/dz| at l over at the top."""
    factors = np.asarray(factors, dtype=np.float64)
    product = np.ones(len(factors))
    if len(factors) > 1:
        with np.errstate(invalid="ignore", over="ignore"):  # a diverged run's inf times a dead layer's 0: a gap
            product[:-1] = np.cumprod(factors[-2::-1])[::-1]
    return product


def _why(lead: str, names: list[str], factors: np.ndarray, product: np.ndarray, activation: str | None) -> str:
    """One run's numbers in a sentence: how much of the top's gradient reaches h1, and why."""
    if len(names) < 2 or not math.isfinite(product[0]):
        return f"{lead}each factor: how much of the gradient a layer passes down (1: all of it)"
    below = int((factors[:-1] < 1).sum())
    text = (f"{lead}{names[0]} gets {_times(product[0])} {names[-1]}'s gradient: {below} of the {len(names) - 1} "
            f"factors on the way down are below 1")
    if activation == "sigmoid":
        text += "; each includes sigmoid's slope f'(s), at most 0.25"
    return text


def _times(value: float) -> str:
    return "none of" if value == 0 else f"{value:.2g}×"


def _slope_panel(layout: dict, slopes, drawn: list, step: int | None) -> None:
    """The slope panel's axis: from 0 to at least 1 (every slope the registry has is within 1.76), ticks
    at round values."""
    values = []
    if slopes is not None:
        for run, *_ in drawn:
            _, v, _ = latest_values(slopes, run, step)
            values.append(finite(v))
    every = np.concatenate(values) if values else np.array([])
    every = every[np.isfinite(every)]
    top = max(1.05, float(every.max()) * 1.1) if len(every) else 1.05
    layout[axis_key(axis_ids(1, 2, 2)[1])].update(range=[0, top], title={"text": "mean slope f'(s)"},
                                                  **nice_ticks(0, top, 4))
