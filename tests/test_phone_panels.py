"""Two-panel charts on a phone (a figure PHONE_PX wide) and on a wide page: the right panel's value labels and
title have room, every x-axis title fits its panel, the legend below grows the figure by its entries' lines
(instead of riding up over the axis titles), and tile grids are only as tall as their square tiles need."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from app import charts
from app.charts import backprop_figure, filters_figure, pretraining_figure
from app.charts.style import LEGEND_ROW_PX, PHONE_PX, legend_px
from app.charts.tiles import FIGURE_PX, PANEL_PX

CHAR_PX = 0.6 * 12  # an average glyph at the template's font size, in px
WIDE_PX = 980  # a chart across the page at 1440 px with the sidebar open
Y_LABELS_PX = 50  # a value axis's tick labels ("100%", "1e-3") and its rotated title


def _pretrain_table(runs: str, layers: int) -> pd.DataFrame:
    rows = [(run, f"h{k}", epoch, "reconstruction_error", 0.5 / (epoch + 1) / k)
            for run in runs for k in range(1, layers + 1) for epoch in range(10)]
    rows += [(run, f"h{k}", 9, "probe_accuracy", 0.9) for run in runs for k in range(1, layers + 1)]
    return pd.DataFrame(rows, columns=["run", "layer", "epoch", "metric", "value"])


def _figures(group) -> dict[str, go.Figure]:
    return {"pretraining": pretraining_figure(_pretrain_table("ab", 5), labels={"a": "autoencoder pre-training"}),
            "backprop": backprop_figure(group.layers, labels=group.labels)}


def _panels(fig: go.Figure, width: int) -> list[tuple[float, float, dict, dict]]:
    """Per panel, left to right: (left px, right px, its x axis, its y axis) in a figure `width` px wide."""
    layout = fig.layout.to_plotly_json()
    plot = width - layout["margin"]["l"] - layout["margin"]["r"] - Y_LABELS_PX  # the left panel's labels
    cells = sorted({(t.xaxis or "x", t.yaxis or "y") for t in fig.data})
    axes = [(layout[charts.style.axis_key(x)], layout[charts.style.axis_key(y)]) for x, y in cells]
    return sorted((x["domain"][0] * plot, x["domain"][1] * plot, x, y) for x, y in axes)


def _check(fig: go.Figure, width: int) -> None:
    """The gap before the right panel holds what it must (its value labels and title unless they are on its right,
    where they take the figure's margin) and each x-axis title fits its panel's width."""
    (_, left_end, _, _), (right_start, _, _, right_y) = _panels(fig, width)
    in_gap = 0 if right_y.get("side") == "right" else Y_LABELS_PX
    assert right_start - left_end >= in_gap + 14, (width, right_start - left_end)  # 14: the x labels' overhang
    for start, end, x_axis, _ in _panels(fig, width):
        title = x_axis["title"]["text"]
        assert len(title) * CHAR_PX <= end - start, (width, title, end - start)


@pytest.mark.parametrize("width", [PHONE_PX, WIDE_PX])
def test_the_right_panels_value_axis_and_every_x_title_have_room(group, width):
    for fig in _figures(group).values():
        _check(fig, width)


def test_the_check_catches_a_long_title_in_a_narrow_panel_and_a_value_axis_in_a_tight_gap(group):
    fig = backprop_figure(group.layers, labels=group.labels)
    fig.layout.xaxis2.title.text = "layer (input → output)"  # the title cut off at a phone's edge
    with pytest.raises(AssertionError):
        _check(fig, PHONE_PX)
    fig = backprop_figure(group.layers, labels=group.labels)
    fig.layout.yaxis2.side = "left"  # its labels and title in a gap of a few dozen px
    with pytest.raises(AssertionError):
        _check(fig, PHONE_PX)


def test_the_legend_below_takes_its_own_room_which_grows_with_its_entries():
    small, large = pretraining_figure(_pretrain_table("a", 2)), pretraining_figure(_pretrain_table("abc", 5))
    for fig in (small, large):
        legend = fig.layout.legend
        # container-referenced at the bottom edge: Plotly lays the axis titles out above it, at any width
        assert (legend.yref, legend.y, legend.yanchor, legend.orientation) == ("container", 0, "bottom", "h")
    entries = [sum(t.showlegend is not False for t in fig.data) for fig in (small, large)]
    assert entries == [2, 15]
    assert large.layout.height - small.layout.height >= (15 - 2) * LEGEND_ROW_PX  # a line per entry on a phone
    assert small.layout.height - legend_px(2) == large.layout.height - legend_px(15, 3)  # the panels keep theirs
    assert legend_px(15, 3) > legend_px(15, 1)  # the gaps between groups count too


def test_tile_panels_are_as_tall_as_their_tiles_at_the_sized_width():
    rng = np.random.default_rng(0)
    three = filters_figure({run: rng.normal(size=(64, 64)) for run in "abc"})
    one = filters_figure({"a": rng.normal(size=(64, 64))})
    wide_grid = filters_figure({run: rng.normal(size=(6, 64)) for run in "abc"})  # 3 tiles a row, 2 rows
    panel = FIGURE_PX * (1 - 0.04 * 2) / 3
    assert three.layout.height == int(panel) + 20  # 8x8 tiles of 8x8: square
    assert wide_grid.layout.height == int(panel * 17 / 26) + 20  # 2 rows of 9 px over 3 columns of 9 px
    assert one.layout.height == PANEL_PX + 20  # one run: capped
    assert three.layout.yaxis.constraintoward == "top"  # what a phone leaves free lies below, not on both sides


def test_run_labels_over_narrow_tile_panels_break_into_lines_that_fit_a_phone():
    rng = np.random.default_rng(0)
    labels = {"a": "random init", "b": "autoencoder pre-training", "c": "RBM pre-training"}
    three = filters_figure({run: rng.normal(size=(64, 64)) for run in "abc"}, labels=labels)
    panel = PHONE_PX * (1 - 0.04 * 2) / 3
    shown = {note.text.replace("<b>", "").replace("</b>", "") for note in three.layout.annotations}
    assert shown == {"random init", "autoencoder<br>pre-training", "RBM<br>pre-training"}
    for text in shown:
        assert all(len(line) * 8 <= panel for line in text.split("<br>")), text  # bold 12 px: ~8 px a character
    one_line = filters_figure({run: rng.normal(size=(64, 64)) for run in "abc"}, labels={"b": "relu"})
    assert three.layout.margin.t > one_line.layout.margin.t  # the second line has its room above the panels
    assert three.layout.height - three.layout.margin.t == one_line.layout.height - one_line.layout.margin.t
    alone = filters_figure({"b": rng.normal(size=(64, 64))}, labels=labels)  # one panel: room for a long label
    assert [note.text for note in alone.layout.annotations] == ["<b>autoencoder pre-training</b>"]
