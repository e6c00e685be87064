"""The Gallery's tiny charts: a pure function from a stored preview (engine/lessons/previews.py) to a figure.

A card plots the quantity its lesson is about (Preset.card_quantity, one of its key chart's quantities,
engine/lessons/charts.py), one line per run in the run's colour (app.charts.run_color):
- a curve over the preview's steps (validation or training loss on a log scale: the presets' losses span
  from 1e-4, a solved task, to hundreds, an exploding init; validation accuracy from 0 to 1). A run that
  diverged ends in a cross at its last finite point.
- a layer stat across depth, input (left) to output (right): thick at the last probe step (each run's line
  wider than the next run's, so runs with equal values, two at 0, show as stripes), thin and dotted at
  step 0. Gradients, weight sizes and activation spreads on a log scale, where an exact zero (a dead or
  silent layer) sits on a marked floor at the bottom; fractions from 0 to 1.
No legend, no title, no hover: the card around the chart names the runs and the quantity, and the chart
is drawn static. The figure's `layout.meta` names the quantity it plots.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import plotly.graph_objects as go

from app.charts import run_color
from engine.lessons.charts import CURVES, DEPTH_STATS

HEIGHT = 140  # px
CONFIG = {"staticPlot": True, "displayModeBar": False}  # pass to st.plotly_chart
# between 0 and 1; the rest span decades
LINEAR = ("val_accuracy", "dead_frac", "saturated_frac", "inactive_frac", "zero_frac")
NESTED_PX = 1.5
ZERO_MARK = "x"  # the marker of an exact zero on a log axis, drawn at the floor


def caption(quantity: str) -> str:
    """The card's line under its chart: what the chart plots, in words."""
    if quantity in CURVES:
        scale = "" if quantity in LINEAR else " (log scale)"
        return f"{CURVES[quantity]} over the steps{scale}."
    scale = "" if quantity in LINEAR else ", log scale; × on the floor: exactly 0"
    return f"{DEPTH_STATS[quantity]}, input to output{scale}. Thin dotted: step 0; thick: the end."


def _positive(values: list) -> list[float]:
    return [v for v in values if v is not None and v > 0]


def _log_ticks(values: list[float]) -> dict[str, Any]:
    """A label at each power of ten when the values span one; otherwise a few plain ticks."""
    return {"dtick": 1} if values and max(values) >= 10 * min(values) else {"nticks": 3}


def _curve_traces(preview: Mapping[str, Any], quantity: str) -> list[go.Scatter]:
    traces: list[go.Scatter] = []
    for run in preview.get("runs", []):
        color = run_color(run["id"])
        points = run.get(quantity) or []
        steps = [step for step, _ in points]
        values = [value for _, value in points]  # None (a non-finite value) leaves a gap
        traces.append(go.Scatter(x=steps, y=values, mode="lines+markers" if len(points) == 1 else "lines",
                                 name=str(run.get("label") or run["id"]), line={"color": color, "width": 2},
                                 marker={"color": color, "size": 5}, showlegend=False, hoverinfo="skip"))
        if run.get("status") == "diverged":
            finite = [(step, value) for step, value in points if value is not None]
            if finite:
                traces.append(go.Scatter(x=[finite[-1][0]], y=[finite[-1][1]], mode="markers",
                                         name=f"{run.get('label') or run['id']} diverged", showlegend=False,
                                         hoverinfo="skip", cliponaxis=False,
                                         marker={"symbol": "x", "size": 9, "color": color,
                                                 "line": {"width": 1, "color": color}}))
    return traces


def _depth_traces(preview: Mapping[str, Any], quantity: str, floor: float | None) -> list[go.Scatter]:
    """Per run: step 0 thin and dotted, the last step thick; zeros on a log axis moved to `floor`, marked."""
    traces: list[go.Scatter] = []
    runs = preview.get("runs", [])
    for k, run in enumerate(runs):
        color, name = run_color(run["id"]), str(run.get("label") or run["id"])
        nested = NESTED_PX * (len(runs) - 1 - k)  # each thick line wider than the next run's: equal runs as stripes
        rows = (run.get("depth") or {}).get(quantity) or []
        layers = [row[0] for row in rows]
        for column, width, dash in ((1, 1, "dot"), (2, 2.5 + nested, "solid")):
            values = [row[column] for row in rows]
            if floor is not None:
                zeros = [layer for layer, value in zip(layers, values) if value == 0]
                values = [floor if value == 0 else value for value in values]
                if zeros:
                    traces.append(go.Scatter(x=zeros, y=[floor] * len(zeros), mode="markers", showlegend=False,
                                             name=f"{name}: exactly 0", hoverinfo="skip", cliponaxis=False,
                                             marker={"symbol": ZERO_MARK, "size": 7 if width > 1 else 5,
                                                     "color": color, "line": {"width": 1, "color": color}}))
            traces.append(go.Scatter(x=layers, y=values, mode="lines", name=name, showlegend=False,
                                     hoverinfo="skip", line={"color": color, "width": width, "dash": dash}))
    return traces


def preview_figure(preview: Mapping[str, Any], quantity: str = "val_loss") -> go.Figure:
    """`quantity` per run, tiny. `preview` is one entry of presets/previews.json."""
    if quantity in CURVES:
        values = [value for run in preview.get("runs", []) for _, value in run.get(quantity) or []]
    else:
        values = [value for run in preview.get("runs", []) for row in (run.get("depth") or {}).get(quantity) or []
                  for value in row[1:]]
    positive = _positive(values)
    log = quantity not in LINEAR
    floor = min(positive) / 10 if log and positive else None
    traces = _curve_traces(preview, quantity) if quantity in CURVES else _depth_traces(preview, quantity, floor)
    xaxis: dict[str, Any] = {"showgrid": False, "zeroline": False, "nticks": 4, "ticks": "outside", "ticklen": 2}
    if quantity in CURVES and preview.get("steps"):
        xaxis["range"] = [0, preview["steps"]]
    yaxis: dict[str, Any] = {"showgrid": True, "gridcolor": "#eee", "zeroline": False}
    if log:
        yaxis.update(type="log", exponentformat="power", **_log_ticks(positive + ([floor] if floor else [])))
    else:
        yaxis.update(range=[-0.03, 1.03], tickvals=[0, 0.5, 1])
    figure = go.Figure(data=traces)
    figure.update_layout(
        height=HEIGHT, margin={"l": 34, "r": 8, "t": 8, "b": 20}, showlegend=False, meta={"quantity": quantity},
        paper_bgcolor="white", plot_bgcolor="white", font={"size": 9, "color": "#555"}, xaxis=xaxis, yaxis=yaxis,
    )
    return figure
