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
import math
import textwrap
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import numpy as np
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
# A legend below the panels, at the figure's bottom edge: "container" makes Plotly reserve its height there and
# lay the axes' tick labels and titles out above it, at any width (a paper-referenced y below 0 is a share of a
# plot area that shrinks as the legend grows, so the legend rode up over the x-axis titles on a phone).
LEGEND_BELOW = {"orientation": "h", "yref": "container", "y": 0, "yanchor": "bottom", "xanchor": "left", "x": 0,
                "font": {"size": 11}}
LEGEND_ROW_PX = 19  # one legend entry's line at font size 11
PAIR_SPACING = 0.08  # between two panels whose right one has its value axis on the right: the x labels' overhang
PHONE_PX = 358  # a figure's width on a 390 px phone (the page's side padding taken off)


def legend_px(entries: int, groups: int = 1) -> int:
    """The height a legend below the panels may take: one line per entry and a gap between legend groups, as on a
    phone, where no two entries share a line (a wider screen puts several on a line and the panels get the rest)."""
    return entries * LEGEND_ROW_PX + max(0, groups - 1) * 8 + 10


def legend_below(layout: dict, traces: list[dict], panels_px: int) -> None:
    """The legend below the panels: the figure `panels_px` tall plus the room its entries may need."""
    shown = [t for t in traces if t.get("showlegend", True)]
    groups = len({t.get("legendgroup") for t in shown})
    layout.update(height=panels_px + legend_px(len(shown), groups), legend=LEGEND_BELOW)


def value_axis_right(layout: dict, yref: str) -> None:
    """The right panel's value axis on its right edge: its tick labels and title then take the figure's right
    margin (automargin), not the gap between the panels, which on a phone is a few dozen px."""
    layout[axis_key(yref)].update(side="right")


def run_color(run_id: str) -> str:
    """The run's colour, the same in every chart: a blue, b vermillion, c green, d purple."""
    if run_id in RUN_COLORS:
        return RUN_COLORS[run_id]
    return EXTRA_COLORS[sum(map(ord, str(run_id))) % len(EXTRA_COLORS)]


def run_name(run_id: str, labels: Mapping[str, str] | None = None) -> str:
    """A run's label as it was given (its id without one): for the words a page shows, which escape it there."""
    return str((labels or {}).get(run_id) or run_id)


def run_label(run_id: str, labels: Mapping[str, str] | None = None) -> str:
    """A run's label as chart text: a label may come from a link, and Plotly reads tags in text (`<a href>`,
    `<b>`), so `<`, `>` and `&` become character references, which it shows as the characters."""
    return html.escape(run_name(run_id, labels), quote=False)


def run_label_lines(run_id: str, labels: Mapping[str, str] | None, width: int) -> list[str]:
    """`run_label` broken at spaces into lines of at most `width` characters (a longer word keeps its own
    line): Plotly never wraps text, so a label over a narrow panel would run into its neighbour's."""
    lines = textwrap.wrap(run_name(run_id, labels), width, break_on_hyphens=False, break_long_words=False)
    return [html.escape(line, quote=False) for line in lines] or [""]


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


# The statistics in plain words, for hover text and titles: "gradient size |dL/dz| RMS at h3: 2.1e-05".
STAT_NAMES = {
    "grad_preact_rms": "gradient size |dL/dz| RMS",
    "weight_grad_rms": "weight gradient size |dL/dW| RMS",
    "saturated_frac": "saturated (flat tails)",
    "inactive_frac": "inactive (flat negative side)",
    "dead_frac": "dead units",
    "backward_gain": "factor |dL/dz| here ÷ one layer up",
    "slope_mean": "mean slope f'(s)",
    "update_ratio": "update ratio ‖ΔW‖/‖W‖",
    "weight_rms": "weight size RMS",
    "zero_frac": "weights exactly 0",
}
# On a saturation chart where no run reports saturated or inactive entries: why there is no line. Mid-panel,
# clear of the legend above and of the dead units' line, which for linear lies at 0.
NO_FLAT_PART = {"text": "No saturated or inactive line: this activation has no flat part (linear)", "xref": "paper",
                "yref": "paper", "x": 0.5, "y": 0.55, "xanchor": "center", "yanchor": "middle", "showarrow": False,
                "font": {"size": 12, "color": "#888888"}}
NO_GRADIENT = "no gradient (dead)"  # the floor of a log chart, where exact zeros are drawn
FLOOR_COLOR = "#7a7a7a"


def stat_hover(stat: str, where: str, run_text: str | None = None, value: str = "%{y:.2g}",
               step: str = "%{x}") -> str:
    """Hover text in plain words: '[run · ]gradient size |dL/dz| RMS at h3: 2.1e-05 (step 400)'."""
    lead = f"{run_text} · " if run_text else ""
    return f"{lead}{STAT_NAMES.get(stat, stat)} at {where}: {value} (step {step})<extra></extra>"


def short_number(value: float) -> str:
    """A tick label, short: 0.25, -1, 1500, 20k."""
    value = round(float(value), 10) + 0.0  # + 0.0: no "-0"
    if abs(value) >= 10_000:
        return f"{value / 1000:g}k"
    return f"{value:g}"


def nice_ticks(lo: float, hi: float, count: int = 4) -> dict:
    """Explicit ticks at round values (1, 2, 2.5 or 5 times a power of ten) inside [lo, hi], about `count`
    of them: explicit, so side-by-side panels can be laid out knowing their labels' widths."""
    span = hi - lo
    if not (math.isfinite(span) and span > 0):
        return {}
    raw = span / max(1, count)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw * (1 - 1e-9))
    first = math.ceil(lo / step - 1e-9)
    values = [k * step for k in range(first, math.floor(hi / step + 1e-9) + 1)]
    return {"tickmode": "array", "tickvals": [round(v, 10) for v in values],
            "ticktext": [short_number(v) for v in values]}


def log_axis(axis: dict, positives: np.ndarray, has_zero: bool, max_ticks: int = 6) -> float | None:
    """A log value axis fitted to `positives` (finite values above zero) with decade ticks ('1e-5'); with
    `has_zero`, a floor a decade below the smallest value, ticked "0", where exact zeros are drawn.
    Returns the floor's value (None without zeros)."""
    if len(positives):
        low, top = math.log10(float(positives.min())), math.log10(float(positives.max()))
    else:  # nothing but zeros: any decade will do
        low, top = -1.0, 0.0
    floor_exp = math.floor(low) - 1 if has_zero else None
    bottom = floor_exp - 0.5 if floor_exp is not None else low - 0.25
    first, last = math.ceil(low - 0.25), math.floor(top + 0.25)
    every = max(1, math.ceil((last - first + 1) / max_ticks))
    decades = list(range(last, first - 1, -every))[::-1]
    values = [10.0**d for d in decades]
    text = [decade(d) for d in decades]
    if len(decades) < 2:  # less than a decade of data: 1-2-5 ticks, so the axis still reads
        ticks = [(m, d) for d in range(first - 1, last + 1) for m in (1, 2, 5)
                 if low - 0.25 <= d + math.log10(m) <= top + 0.25]
        values = [m * 10.0**d for m, d in ticks]
        text = [decade(d) if m == 1 else f"{m}e{d}" if d else str(m) for m, d in ticks]
    if floor_exp is not None:
        values, text = [10.0**floor_exp, *values], ["0", *text]
    axis.update(type="log", range=[bottom, max(top + 0.25, bottom + 1)], tickmode="array", tickvals=values,
                ticktext=text)
    return 10.0**floor_exp if floor_exp is not None else None


def floor_line(x: list, floor: float, xref: str, yref: str, show_legend: bool, text: str = NO_GRADIENT) -> dict:
    """The dashed floor of a log chart at `floor`, from x[0] to x[-1]: what lies on it is exactly 0 (`text` says
    what that means: for a gradient, none at all)."""
    return {"type": "scatter", "mode": "lines", "x": x, "y": [floor] * len(x), "xaxis": xref, "yaxis": yref,
            "name": text, "legendgroup": "floor", "showlegend": show_legend,
            "line": {"color": FLOOR_COLOR, "width": 1.2, "dash": "dash"}, "hoverinfo": "skip"}


def floor_note(xref: str, yref: str, floor: float, text: str = NO_GRADIENT) -> dict:
    """The floor's label, just above it at the panel's left."""
    return {"text": text, "xref": f"{xref} domain", "yref": yref, "x": 0.01, "y": math.log10(floor),
            "xanchor": "left", "yanchor": "bottom", "showarrow": False, "font": {"size": 10, "color": FLOOR_COLOR}}


def floor_points(x: np.ndarray, floor: float, xref: str, yref: str, color: str, hover: str, group: str,
                 text: str = NO_GRADIENT) -> dict:
    """Exact zeros drawn on the floor, in their line's colour; `hover` says they are exactly 0."""
    return {"type": "scatter", "mode": "markers", "x": x, "y": np.full(len(x), floor), "xaxis": xref, "yaxis": yref,
            "name": text, "legendgroup": group, "showlegend": False,
            "marker": {"color": color, "size": 7, "symbol": "x-thin", "line": {"color": color, "width": 2}},
            "hovertemplate": hover}
