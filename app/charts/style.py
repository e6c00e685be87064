"""The look every chart shares: run colours and labels, the template, figures from plain dicts, subplot
grids and axis names, the "waiting for data" figure, and the presenter's larger version of a figure.

Runs keep one colour everywhere (`run_color`); lines of one run's layers are shades of it (`shade`),
light near the input and dark near the output. Figures are assembled from plain dicts without Plotly's
per-property validation (the tests validate every figure instead); subplot grids come from
`make_subplots`, cached per shape.
"""

from __future__ import annotations

import copy
import html
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import plotly.colors as pc_colors
import plotly.graph_objects as go
from plotly.subplots import make_subplots

RUN_COLORS = {"a": "#0072B2", "b": "#D55E00", "c": "#009E73", "d": "#CC79A7"}  # Okabe-Ito: colour-blind safe
EXTRA_COLORS = ("#E69F00", "#56B4E9", "#6B6B6B", "#F0E442")  # runs beyond a-d, by a hash of the id
# An explicit colour list: plotly.js's own "Blues" runs the other way.
COUNT_SCALE = [[i / (len(pc_colors.sequential.Blues) - 1), c]  # white = none, dark blue = many
               for i, c in enumerate(pc_colors.sequential.Blues)]
WAITING = "Waiting for data…"

_FONT = "#2a3f5f"
_GRID = "#E5E9F0"
_TEMPLATE = {  # the parts of plotly_white used here, without its 7 KB of trace defaults (9 ms per figure)
    "layout": {
        "font": {"color": _FONT, "size": 12},
        "paper_bgcolor": "white",
        "plot_bgcolor": "white",
        "hovermode": "closest",
        "hoverlabel": {"align": "left"},
        "xaxis": {"gridcolor": _GRID, "linecolor": _GRID, "zerolinecolor": _GRID, "ticks": "", "automargin": True},
        "yaxis": {"gridcolor": _GRID, "linecolor": _GRID, "zerolinecolor": _GRID, "ticks": "", "automargin": True},
        "coloraxis": {"colorbar": {"outlinewidth": 0, "ticks": "", "thickness": 12}},
        "annotationdefaults": {"arrowhead": 0, "arrowwidth": 1},
    }
}
MARGIN = {"l": 10, "r": 10, "t": 30, "b": 10}
LEGEND = {"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "left", "x": 0, "font": {"size": 11}}


def run_color(run_id: str) -> str:
    """The run's colour, the same in every chart: a blue, b vermillion, c green, d purple."""
    if run_id in RUN_COLORS:
        return RUN_COLORS[run_id]
    return EXTRA_COLORS[sum(map(ord, str(run_id))) % len(EXTRA_COLORS)]


def run_label(run_id: str, labels: Mapping[str, str] | None = None) -> str:
    """A run's label as chart text: a label may come from a link, and Plotly reads tags in text (`<a href>`,
    `<b>`), so `<`, `>` and `&` become character references, which it shows as the characters."""
    return html.escape(str((labels or {}).get(run_id) or run_id), quote=False)


def waiting_figure(message: str = WAITING, height: int = 260) -> go.Figure:
    """An empty figure that says so: for runs that have not reported anything yet."""
    layout = {
        "height": height,
        "xaxis": {"visible": False},
        "yaxis": {"visible": False},
        "annotations": [{"text": message, "xref": "paper", "yref": "paper", "x": 0.5, "y": 0.5,
                         "showarrow": False, "font": {"size": 14, "color": "#888888"}}],
    }
    return make_figure([], layout)


def make_figure(traces: list[dict], layout: dict) -> go.Figure:
    """A figure from plain dicts, unvalidated: validation costs ~0.25 ms per trace and the tests do it."""
    full = {"template": _TEMPLATE, "margin": MARGIN, "uirevision": "keep", **layout}
    try:
        return go.Figure(data=traces, layout=full, _validate=False)
    except TypeError:  # pragma: no cover - a Plotly without the private switch
        return go.Figure(data=traces, layout=full)


@lru_cache(maxsize=64)
def _grid_cached(rows: int, cols: int, shared_xaxes: bool, vertical_spacing: float | None,
                 horizontal_spacing: float | None) -> dict:
    fig = make_subplots(rows=rows, cols=cols, shared_xaxes=shared_xaxes, vertical_spacing=vertical_spacing,
                        horizontal_spacing=horizontal_spacing)
    layout = fig.layout.to_plotly_json()
    layout.pop("template", None)
    return layout


def grid(rows: int, cols: int = 1, shared_xaxes: bool = False, vertical_spacing: float | None = None,
         horizontal_spacing: float | None = None) -> dict:
    """make_subplots' axis layout (cached: it costs ~20 ms per call), as a fresh dict to fill in."""
    return copy.deepcopy(_grid_cached(rows, cols, shared_xaxes, vertical_spacing, horizontal_spacing))


def stack(rows: int, vertical_spacing: float | None = None) -> dict:
    """Panels stacked in one column on ONE shared x axis (at the bottom): make_subplots' row domains,
    without its per-row x axes, which cost ~0.3 ms each to build and serialize."""
    cells = _grid_cached(rows, 1, True, vertical_spacing, None)
    layout: dict[str, Any] = {"xaxis": {"domain": [0.0, 1.0], "anchor": axis_ids(rows, 1, 1)[1]}}
    for row in range(1, rows + 1):
        yref = axis_ids(row, 1, 1)[1]
        layout[axis_key(yref)] = {"domain": list(cells[axis_key(yref)]["domain"]), "anchor": "x"}
    return layout


def line_axis(axis: dict, title: str, log_y: bool, y_range: list[float] | None = None) -> None:
    """A line chart's value axis, filled in: its title, and a log scale or else `y_range` (if any)."""
    axis.update(title={"text": title})
    if log_y:
        axis.update(type="log", exponentformat="power")
    elif y_range is not None:
        axis.update(range=y_range)


def axis_ids(row: int, col: int, cols: int) -> tuple[str, str]:
    """Trace axis references ('x3', 'y3') of a make_subplots cell (rows and columns from 1)."""
    n = (row - 1) * cols + col
    suffix = "" if n == 1 else str(n)
    return "x" + suffix, "y" + suffix


def axis_key(ref: str) -> str:
    """Layout key of an axis reference: 'x3' -> 'xaxis3', 'y' -> 'yaxis'."""
    return ref[0] + "axis" + ref[1:]


def mix(color: str, target: tuple[int, int, int], amount: float) -> str:
    r, g, b = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    r, g, b = (round(c + (t - c) * amount) for c, t in zip((r, g, b), target))
    return f"#{r:02x}{g:02x}{b:02x}"


def shade(color: str, position: float) -> str:
    """The run colour for a layer at relative depth `position` (0 = input side: light, 1 = output: dark)."""
    if position < 0.5:
        return mix(color, (255, 255, 255), 0.6 * (1 - 2 * position))
    return mix(color, (0, 0, 0), 0.45 * (2 * position - 1))


PROJECTED_TICKS = 14  # px: the smallest tick label a projector shows legibly at the back of a room


def projected(figure: go.Figure, scale: float = 1.35) -> go.Figure:
    """`figure` made for a projector: taller, with larger text. Changes the figure: give it a fresh one."""
    layout = figure.layout
    figure.update_layout(height=round((layout.height or 340) * scale), font={"size": 16},
                         legend={"font": {"size": 15}})
    for annotation in layout.annotations or ():
        annotation.font.size = round((annotation.font.size or 12) * 1.25)
    for axis in (*figure.select_xaxes(), *figure.select_yaxes()):  # small panels set their own sizes
        if axis.tickfont.size:
            axis.tickfont.size = max(PROJECTED_TICKS, round(axis.tickfont.size * 1.25))
        if axis.title.font.size:
            axis.title.font.size = max(PROJECTED_TICKS, round(axis.title.font.size * 1.25))
    return figure


def decade(exponent: float) -> str:
    """A power of ten for a label: 0 -> '1', -3 -> '1e-3'."""
    e = round(exponent)
    return "1" if e == 0 else f"1e{e}"
