"""The Gallery's tiny charts: a pure function from a stored preview (engine/lessons/previews.py) to a figure.

One line per run, the validation loss over the preview's steps, in the run's colour (app.charts.run_color),
on a log scale: the presets' losses span from 1e-4 (a solved task) to hundreds (an exploding init).
A run that diverged ends in a cross at its last finite point. No legend, no title, no hover: the card
around the chart names the runs, and the chart is drawn static.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import plotly.graph_objects as go

from app.charts import run_color

HEIGHT = 140  # px
CONFIG = {"staticPlot": True, "displayModeBar": False}  # pass to st.plotly_chart


def _log_ticks(preview: Mapping[str, Any]) -> dict[str, Any]:
    """A label at each power of ten when the losses span one; otherwise a few plain ticks."""
    values = [value for run in preview.get("runs", []) for _, value in run.get("val_loss") or []
              if value is not None and value > 0]
    return {"dtick": 1} if values and max(values) >= 10 * min(values) else {"nticks": 3}


def preview_figure(preview: Mapping[str, Any]) -> go.Figure:
    """Validation loss per run, tiny. `preview` is one entry of presets/previews.json."""
    traces: list[go.Scatter] = []
    for run in preview.get("runs", []):
        color = run_color(run["id"])
        points = run.get("val_loss") or []
        steps = [step for step, _ in points]
        values = [value for _, value in points]  # None (a non-finite loss) leaves a gap
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
    xaxis: dict[str, Any] = {"showgrid": False, "zeroline": False, "nticks": 4, "ticks": "outside", "ticklen": 2}
    if preview.get("steps"):
        xaxis["range"] = [0, preview["steps"]]
    figure = go.Figure(data=traces)
    figure.update_layout(
        height=HEIGHT, margin={"l": 34, "r": 8, "t": 8, "b": 20}, showlegend=False,
        paper_bgcolor="white", plot_bgcolor="white", font={"size": 9, "color": "#555"}, xaxis=xaxis,
        yaxis={"type": "log", "showgrid": True, "gridcolor": "#eee", "zeroline": False, "exponentformat": "power",
               **_log_ticks(preview)},
    )
    return figure
