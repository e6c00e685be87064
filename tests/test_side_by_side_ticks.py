"""Side-by-side panels leave room for their tick labels: no label of one column reaches into its
neighbour, at the widths the pages draw them; and the check itself catches crowded columns."""

from __future__ import annotations

import math

import plotly.graph_objects as go
import pytest

from app import charts

CHAR_WIDTH = 0.6  # an average glyph's width in ems: an approximation of the browser's text
TICK_PAD = 6  # px between an axis and its labels


def _axis(layout: dict, ref: str) -> dict:
    """An axis's settings, with what it takes from the axis it `matches` (range, ticks, type)."""
    axis = dict(layout[charts.style.axis_key(ref)])
    if axis.get("matches"):
        base = layout[charts.style.axis_key(axis["matches"])]
        for key in ("range", "tickvals", "ticktext", "type", "categoryarray"):
            axis.setdefault(key, base.get(key))
    return axis


def _tick_labels(axis: dict, font: float) -> list[tuple[float, float]]:
    """(position as a share of the axis's length, label width in px) of every tick label shown."""
    if axis.get("showticklabels") is False:
        return []
    size = (axis.get("tickfont") or {}).get("size") or font
    lo, hi = axis["range"]
    if axis.get("type") == "category":
        ticks = list(enumerate(map(str, axis["categoryarray"])))
    else:
        assert axis.get("tickvals") is not None, "a side-by-side axis without explicit ticks"
        values = [math.log10(v) if axis.get("type") == "log" else v for v in axis["tickvals"]]
        ticks = list(zip(values, axis.get("ticktext") or map(str, axis["tickvals"])))
    return [((v - lo) / (hi - lo), len(str(text)) * size * CHAR_WIDTH) for v, text in ticks if lo <= v <= hi]


def _assert_no_tick_collisions(fig: go.Figure, width: int) -> int:
    """Side by side panels at a figure `width` px wide: each gap leaves room for the right panel's value
    labels (and its title); no step or layer label of one column reaches into its neighbour. Returns the
    number of neighbouring pairs checked."""
    layout = fig.layout.to_plotly_json()
    font = layout["font"]["size"] if "font" in layout else 12
    margin = layout.get("margin", {})
    plot = width - margin.get("l", 80) - margin.get("r", 80) - 60  # 60: the first column's labels, title
    cells = sorted({(t.xaxis or "x", t.yaxis or "y") for t in fig.data})
    domain = {ref: _axis(layout, ref)["domain"] for cell in cells for ref in cell}
    pairs = 0
    for left in cells:
        right = [c for c in cells if domain[c[0]][0] >= domain[left[0]][1] - 1e-9
                 and min(domain[c[1]][1], domain[left[1]][1]) > max(domain[c[1]][0], domain[left[1]][0])]
        if not right:
            continue
        pairs += 1
        neighbour = min(right, key=lambda c: domain[c[0]][0])
        x0, x1 = domain[left[0]][1] * plot, domain[neighbour[0]][0] * plot  # the gap, in px
        y_axis = _axis(layout, neighbour[1])
        labels = [w for _, w in _tick_labels(y_axis, font)]
        title = 1.4 * font if (y_axis.get("title") or {}).get("text") else 0
        need = (max(labels) + TICK_PAD if labels else 0) + title
        assert x1 - x0 >= need, (fig.layout.height, left, neighbour, x1 - x0, need)
        lx0, lx1 = domain[left[0]][0] * plot, x0
        left_ends = [lx0 + f * (lx1 - lx0) + w / 2 for f, w in _tick_labels(_axis(layout, left[0]), font)]
        right_starts = [x1 + f * (domain[neighbour[0]][1] * plot - x1) - w / 2
                        for f, w in _tick_labels(_axis(layout, neighbour[0]), font)]
        assert max(left_ends, default=-math.inf) <= x1, (left, "reaches into", neighbour)
        assert min(right_starts, default=math.inf) >= x0, (neighbour, "reaches into", left)
    return pairs


def test_side_by_side_panels_leave_room_for_their_tick_labels(group, deep):
    pair, full = 500, 1000  # px: one of a pair of charts, a chart across the page (the page at 1440 px)
    ids = list(group.labels)
    checks = [
        (charts.loss_accuracy_figure(group.scalars, labels=group.labels), pair, 1),
        (charts.loss_accuracy_figure(deep.scalars), pair, 1),
        (charts.gradient_depth_figure(group.layers, labels=group.labels), pair, 1),
        (charts.gradient_depth_figure(deep.layers), pair, 1),
        # relu beside sigmoid and tanh: saturated, inactive and dead units side by side, two neighbouring pairs
        (charts.saturation_depth_figure(group.layers, labels=group.labels), pair, 2),
        (charts.histogram_grid(group.hists, ids, "act", labels=group.labels), full, 4 * 2),
        (charts.histogram_grid(group.hists, ids, "grad", labels=group.labels), full, 4 * 2),
        (charts.histogram_grid(group.hists, [*ids, "a"], "act", labels=group.labels), full, 4 * 3),  # four runs
        (charts.gradient_time_grid(group.layers, ids, labels=group.labels), full, 2),
    ]
    for fig, width, pairs in checks:
        assert _assert_no_tick_collisions(fig, width) == pairs


def test_the_tick_check_catches_crowded_columns(group):
    fig = charts.histogram_grid(group.hists, list(group.labels), "act", labels=group.labels)
    with pytest.raises(AssertionError):
        _assert_no_tick_collisions(fig, 300)  # three columns of labels in 300 px do not fit
    layout = charts.style.grid(1, 2, horizontal_spacing=0.005)  # and columns that touch collide
    for ref in ("xaxis", "xaxis2"):
        layout[ref].update(range=[0, 2000], tickvals=[0, 1000, 2000], ticktext=["0", "1000", "2000"])
    for ref in ("yaxis", "yaxis2"):
        layout[ref].update(range=[0, 1], tickvals=[0, 1], ticktext=["0", "1"])
    touching = go.Figure([go.Scatter(x=[0], y=[0]), go.Scatter(x=[0], y=[0], xaxis="x2", yaxis="y2")], layout)
    with pytest.raises(AssertionError):
        _assert_no_tick_collisions(touching, 1000)
