"""The Search page's charts: validation score against each searched key, and every trial's learning curve.

`score_by_key_figure(trials, space, score)`: one panel per searched key, each trial a dot at its value of
that key (log x for a log range) and its validation score at its early-stopping point; the chosen trial is a
star. A grid shows as a few columns of dots (a 3x3 grid tried 3 learning rates), random search as a spread.
`curves_figure(curves, trials)`: validation loss over steps of every trial, each ending where the trial ended,
with a dot at its best step (the net it keeps) and a cross where early stopping ended it; the chosen trial drawn
on top, thicker. Inputs are engine/search/tables.py's trials and curves tables.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from app.charts.style import MARGIN, axis_ids, grid, make_figure, waiting_figure
from engine.search.space import Dimension

CHOSEN = "#D55E00"
TRIAL = "#0072B2"
SCORE_TITLES = {"val_accuracy": "validation accuracy", "val_loss": "validation loss"}
PANEL_HEIGHT = 260


def score_by_key_figure(trials: pd.DataFrame, space: Mapping[str, Dimension], score: str) -> go.Figure:
    scored = trials[trials[score].notna() & np.isfinite(trials[score].astype(float))]
    if scored.empty:
        return waiting_figure("Waiting for the first trial to be scored…")
    keys = list(space)
    cols = min(3, len(keys))
    rows = math.ceil(len(keys) / cols)
    layout = grid(rows, cols, vertical_spacing=0.25 if rows > 1 else None)
    traces = []
    chosen = scored.iloc[0] if int(scored.iloc[0]["rank"]) == 1 else None
    for i, key in enumerate(keys):
        xref, yref = axis_ids(i // cols + 1, i % cols + 1, cols)
        dim = space[key]
        x = scored[key].astype(str) if dim.kind == "choice" else scored[key].astype(float)
        distinct = scored[key].nunique()
        traces.append({"type": "scatter", "mode": "markers", "x": list(x), "y": list(scored[score]),
                       "xaxis": xref, "yaxis": yref, "name": "trial", "showlegend": i == 0,
                       "marker": {"color": TRIAL, "size": 8, "opacity": 0.75},
                       "customdata": list(scored["trial"]),
                       "hovertemplate": f"trial %{{customdata}}<br>{key} %{{x}}<br>{SCORE_TITLES[score]} "
                                        "%{y:.4g}<extra></extra>"})
        if chosen is not None:
            traces.append({"type": "scatter", "mode": "markers", "x": [str(chosen[key]) if dim.kind == "choice"
                                                                      else float(chosen[key])],
                           "y": [chosen[score]], "xaxis": xref, "yaxis": yref, "name": "chosen by validation",
                           "showlegend": i == 0, "marker": {"color": CHOSEN, "size": 14, "symbol": "star"},
                           "hoverinfo": "skip"})
        axis = layout[f"xaxis{'' if i == 0 else i + 1}"]
        layout[f"yaxis{'' if i == 0 else i + 1}"]["title"] = {"text": SCORE_TITLES[score]} if i % cols == 0 else {}
        axis["title"] = {"text": f"{key} ({distinct} value{'s' if distinct != 1 else ''} tried)"}
        if dim.kind == "log":
            axis.update(type="log", exponentformat="e")  # 1e-05, as the specs write it, not 10µ
        if dim.kind == "choice":
            axis["type"] = "category"
            axis["categoryorder"] = "array"
            axis["categoryarray"] = list(dim.choices)
    # the legend above the panels: below, it sat on the bottom row's axis titles
    layout.update(height=PANEL_HEIGHT * rows + 60, margin={**MARGIN, "t": 50},
                  legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0})
    return make_figure(traces, layout)


def curves_figure(curves: pd.DataFrame, trials: pd.DataFrame, log_y: bool = True) -> go.Figure:
    if curves.empty:
        return waiting_figure("Waiting for the first evaluation…")
    info = trials.set_index("trial")
    chosen = int(trials.iloc[0]["trial"]) if not trials.empty and trials.iloc[0]["rank"] == 1 else None
    traces, best_x, best_y, stop_x, stop_y = [], [], [], [], []
    order = [t for t in curves["trial"].unique() if t != chosen] + ([chosen] if chosen in set(curves["trial"]) else [])
    for trial in map(int, order):
        rows = curves[curves["trial"] == trial]
        y = rows["val_loss"].astype(float)
        y = y.where(np.isfinite(y) & (y > 0 if log_y else True))  # diverged: a gap, never an error
        is_chosen = bool(trial == chosen)
        traces.append({"type": "scatter", "mode": "lines", "x": list(rows["step"]), "y": list(y),
                       "name": f"trial {trial}" + (" (chosen)" if is_chosen else ""), "showlegend": is_chosen,
                       "line": {"color": CHOSEN if is_chosen else TRIAL, "width": 3 if is_chosen else 1},
                       "opacity": 1 if is_chosen else 0.45,
                       "hovertemplate": f"trial {trial}<br>step %{{x}}<br>validation loss %{{y:.4g}}<extra></extra>"})
        if trial in info.index:
            row = info.loc[trial]
            best = row["best_step"]
            if pd.notna(best) and math.isfinite(row["val_loss"]):
                best_x.append(int(best))
                best_y.append(float(row["val_loss"]))
            if row["status"] == "early_stopped" and len(rows):
                stop_x.append(int(rows["step"].iloc[-1]))
                stop_y.append(float(y.iloc[-1]) if pd.notna(y.iloc[-1]) else None)
    traces.append({"type": "scatter", "mode": "markers", "x": best_x, "y": best_y, "name": "best step (kept)",
                   "marker": {"color": "black", "size": 6}, "hoverinfo": "skip"})
    traces.append({"type": "scatter", "mode": "markers", "x": stop_x, "y": stop_y, "name": "early stop",
                   "marker": {"color": "black", "size": 9, "symbol": "x"}, "hoverinfo": "skip"})
    layout = {"height": 360, "margin": MARGIN, "xaxis": {"title": {"text": "step"}},
              "yaxis": {"title": {"text": "validation loss"}, "type": "log" if log_y else "linear"},
              "legend": {"orientation": "h", "y": -0.2}}
    return make_figure(traces, layout)
