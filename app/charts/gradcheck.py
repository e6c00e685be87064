"""The Debug page's charts: the gradient check's error per tensor across depth, the error against the step h
(log-log), and the overfit check's training loss. Each is drawn on a log axis with CS231n's bands shaded
behind it (wrong above 1e-2, suspicious 1e-4 to 1e-2, right below 1e-7), so where a tensor lands reads at a
glance. A tensor whose true gradient is 0 (error 0: nothing to compare) sits on the floor, said in its hover.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd
import plotly.graph_objects as go

from app.charts.arrays import depth_key
from app.charts.style import LEGEND, MARGIN, waiting_figure

FLOOR = 1e-17  # where an error of exactly 0 is drawn on the log axis
TOP = 10.0
BANDS = (  # (from, to, colour, words): the shading behind every error chart
    (1e-2, TOP, "rgba(213, 94, 0, 0.13)", "wrong"),
    (1e-4, 1e-2, "rgba(230, 159, 0, 0.13)", "suspicious"),
    (1e-7, 1e-4, "rgba(86, 180, 233, 0.08)", "probably right"),
    (FLOOR, 1e-7, "rgba(0, 158, 115, 0.10)", "right"),
)
KIND_COLORS = {"weight": "#0072B2", "bias": "#D55E00", "norm gain": "#009E73", "norm shift": "#CC79A7"}
PATH_SYMBOLS = {"fast": "circle", "autograd": "x-thin-open"}
HEIGHT = 360


# Plotly places add_hrect/add_vline/add_hline's own annotations at the raw value, which a log axis reads as
# a power of ten (1e-7 lands at 10**1e-7, about 1): every label is added here in log10 units instead.
LABEL = {"showarrow": False, "font": {"size": 10, "color": "#555555"}}


def _bands(figure: go.Figure, labelled: bool = True) -> None:
    for low, high, color, words in BANDS:
        figure.add_hrect(y0=low, y1=high, fillcolor=color, line_width=0, layer="below")
        if labelled:  # at the band's middle on the log axis, at the right edge
            middle = (math.log10(low) + math.log10(high)) / 2
            figure.add_annotation(text=words, xref="paper", x=1, xanchor="right", yref="y", y=middle,
                                  yanchor="middle", **LABEL)


def _shown(errors: pd.Series) -> list[float]:
    return [FLOOR if e == 0 else e for e in errors]


def tensor_errors_figure(table: pd.DataFrame, run: str = "a") -> go.Figure:
    """Each parameter tensor's relative error per layer, input (left) to output (right): colour by kind
    (weight, bias, norm gain and shift), marker by training path (fast: circle, autograd: cross)."""
    rows = table[(table["run"] == run) & table["error"].notna()]
    if rows.empty:
        return waiting_figure("No tensor to show: every checked entry crossed a kink.")
    layers = sorted(rows["layer"].unique(), key=depth_key)
    figure = go.Figure()
    for (kind, path), part in rows.groupby(["kind", "path"], sort=False):
        figure.add_trace(go.Scatter(
            x=part["layer"], y=_shown(part["error"]), mode="markers", name=f"{kind} · {path} path",
            marker={"color": KIND_COLORS.get(kind, "#6B6B6B"), "symbol": PATH_SYMBOLS.get(path, "circle"),
                    "size": 11, "line": {"width": 2, "color": KIND_COLORS.get(kind, "#6B6B6B")}},
            customdata=list(zip(part["tensor"], part["band"], part["checked"], part["kinks"])),
            hovertemplate="%{customdata[0]}: relative error %{y:.2e} (%{customdata[1]})<br>"
                          "%{customdata[2]} entries checked, %{customdata[3]} left out at a kink<extra></extra>"))
    _bands(figure)
    figure.update_layout(height=HEIGHT, margin={**MARGIN, "t": 40}, legend=LEGEND, template="plotly_white",
                         xaxis={"title": "layer (input to output)", "categoryorder": "array", "categoryarray": layers},
                         yaxis={"title": "relative error |a-n| / max(|a|,|n|)", "type": "log",
                                "range": [math.log10(FLOOR), math.log10(TOP)], "exponentformat": "power"})
    return figure


def error_vs_h_figure(curves: pd.DataFrame, dtype: str, h: float) -> go.Figure:
    """Log-log: each tensor's relative error against the step h in one precision, the check's h dashed."""
    rows = curves[curves["dtype"] == dtype]
    if rows.empty:
        return waiting_figure()
    figure = go.Figure()
    for tensor, part in rows.groupby("tensor", sort=False):
        part = part.sort_values("h")
        figure.add_trace(go.Scatter(
            x=part["h"], y=_shown(part["error"]), mode="lines+markers", name=tensor, marker={"size": 5},
            line={"color": KIND_COLORS.get(part["kind"].iloc[0], "#6B6B6B"), "width": 1.5},
            hovertemplate=f"{tensor}, {dtype}: h %{{x:.0e}}, relative error %{{y:.2e}}<extra></extra>"))
    _bands(figure)
    figure.add_vline(x=h, line_dash="dash", line_color="#555555")
    figure.add_annotation(text=f"the check's h = {h:g}", xref="x", x=math.log10(h), xanchor="right", yref="paper",
                          y=0, yanchor="bottom", **LABEL)
    figure.update_layout(height=HEIGHT, margin={**MARGIN, "t": 40}, legend=LEGEND, template="plotly_white",
                         xaxis={"title": "step h (log): rounding grows to the left, truncation to the right",
                                "type": "log", "exponentformat": "power"},
                         yaxis={"title": f"relative error in {dtype} (log)", "type": "log",
                                "range": [math.log10(FLOOR), math.log10(TOP)], "exponentformat": "power"})
    return figure


def overfit_figure(curve: Sequence[tuple[int, float, float]], near_zero: float) -> go.Figure:
    """The overfit check's training loss on its N examples (log y), with the near-zero line it must cross."""
    if not curve:
        return waiting_figure()
    steps = [step for step, _, _ in curve]
    losses = [loss if math.isfinite(loss) and loss > 0 else None for _, loss, _ in curve]
    figure = go.Figure(go.Scatter(x=steps, y=losses, mode="lines", name="training loss on the N examples",
                                  line={"color": "#0072B2", "width": 2},
                                  hovertemplate="step %{x}: loss %{y:.3g}<extra></extra>"))
    figure.add_hline(y=near_zero, line_dash="dash", line_color="#009E73")
    figure.add_annotation(text=f"near zero: {near_zero:.2g}", xref="paper", x=1, xanchor="right", yref="y",
                          y=math.log10(near_zero), yanchor="bottom", **LABEL)
    figure.update_layout(height=300, margin={**MARGIN, "t": 40}, legend=LEGEND, template="plotly_white",
                         showlegend=False, xaxis={"title": "step"},
                         yaxis={"title": "training loss (log)", "type": "log", "exponentformat": "power"})
    return figure
