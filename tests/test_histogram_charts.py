"""Histogram charts on real runs: activation and gradient histograms over time (one panel per layer, log
counts, the zero strip, caps), the depth profile at one step, and the side-by-side grid of runs."""

from __future__ import annotations

import colorsys
import math

import numpy as np
import plotly.graph_objects as go

from app import charts
from tests.chart_helpers import more_layers, same_hue, train_run


def _lightness(color: str) -> float:
    r, g, b = (int(color[i : i + 2], 16) / 255 for i in (1, 3, 5))
    return colorsys.rgb_to_hls(r, g, b)[1]


def _panel_names(fig: go.Figure) -> list[str]:
    """Heatmap panels, top to bottom, by their trace names."""
    return [t.name for t in fig.data if t.type == "heatmap"]


def test_histogram_heatmap_one_panel_per_hidden_layer_in_depth_order(deep):
    fig = charts.histogram_heatmap(deep.hists, "a", kind="act")
    assert _panel_names(fig) == [f"h{i}" for i in range(1, 11)]
    assert [fig.layout[charts.style.axis_key(t.yaxis)].title.text for t in fig.data] == _panel_names(fig)
    assert {t.xaxis for t in fig.data} == {"x"}  # one shared step axis
    assert fig.layout.coloraxis.colorbar.title.text == "count"
    assert list(fig.layout.coloraxis.colorbar.ticktext[:3]) == ["0", "1", "10"]


def test_histogram_heatmap_values_are_log_counts_with_table_edges(deep):
    fig = charts.histogram_heatmap(deep.hists, "a", kind="act")
    h3 = next(t for t in fig.data if t.name == "h3")
    rows = deep.hists[(deep.hists["kind"] == "act") & (deep.hists["layer"] == "h3")]
    last = rows[rows["step"] == rows["step"].max()].sort_values("lo")
    assert int(h3.x[-1]) == int(rows["step"].max())
    codes = np.rint(np.log10(1 + last["count"].to_numpy()) * charts.histograms.LOG_COUNT_STEPS)
    assert np.array_equal(np.asarray(h3.z)[:, -1], codes)
    assert np.allclose(h3.y, np.append(last["lo"].to_numpy(), last["hi"].to_numpy()[-1]))


def test_grad_heatmap_has_a_zero_strip(group):
    fig = charts.histogram_heatmap(group.hists, "a", kind="grad")  # relu: many exact zeros
    h1 = fig.data[0]
    rows = group.hists[(group.hists["run"] == "a") & (group.hists["kind"] == "grad") & (group.hists["layer"] == "h1")]
    last = rows[rows["step"] == rows["step"].max()]
    zeros = last.loc[np.isneginf(last["lo"]), "count"].sum()
    z = np.asarray(h1.z)
    assert z.shape[0] == len(last) and len(h1.y) == len(last) + 1  # value bins + the zero strip, as edges
    assert z[0, -1] == round(math.log10(1 + zeros) * charts.histograms.LOG_COUNT_STEPS)
    assert zeros > 0
    assert "0" in fig.layout.yaxis.ticktext


def test_gradient_histograms_fewer_taller_panels_with_readable_ticks(deep):
    act = charts.histogram_heatmap(deep.hists, "a", kind="act")
    grad = charts.histogram_heatmap(deep.hists, "a", kind="grad")
    names = _panel_names(grad)
    assert len(names) == charts.histograms.MAX_GRAD_PANELS < len(_panel_names(act)) and names[-1] == "h10"
    assert grad.layout.height / len(names) > 1.4 * act.layout.height / len(_panel_names(act))
    for fig in (act, grad):
        for trace in fig.data:
            axis = fig.layout[charts.style.axis_key(trace.yaxis)]
            assert axis.tickfont.size >= 10 and 2 <= len(axis.tickvals) <= 6
            assert all(axis.range[0] <= v <= axis.range[1] for v in axis.tickvals)


def test_histogram_heatmap_caps_panels_and_columns(deep):
    wide = more_layers(deep.hists, 30)
    fig = charts.histogram_heatmap(wide, "a", kind="act")
    names = _panel_names(fig)
    assert len(names) == charts.histograms.MAX_PANELS and names[0] == "h1" and names[-1] == "h30"
    assert names == charts.depth_order(names)
    assert all(len(t.x) <= charts.histograms.MAX_COLUMNS for t in fig.data)
    assert any("12 of 30" in (a.text or "") for a in fig.layout.annotations)


def test_depth_profile_one_outline_per_layer_darkening_with_depth(deep):
    fig = charts.depth_profile(deep.hists, "a", kind="act")
    assert [t.name for t in fig.data] == [f"h{i}" for i in range(1, 11)]
    assert list(fig.layout.xaxis.ticktext) == [f"h{i}" for i in range(1, 11)]
    lightness = [_lightness(t.line.color) for t in fig.data]
    assert lightness == sorted(lightness, reverse=True)
    assert all(same_hue(t.line.color, "a") for t in fig.data)
    assert f"step {int(deep.hists['step'].max())}" in fig.layout.annotations[0].text
    earlier = charts.depth_profile(deep.hists, "a", kind="act", step=7)
    assert "step 6" in earlier.layout.annotations[0].text


def test_depth_profile_grad_shows_zeros(group):
    fig = charts.depth_profile(group.hists, "a", kind="grad")
    assert "0" in fig.layout.yaxis.ticktext
    for trace in fig.data:  # a separate block below the value bins, after a gap
        y = np.asarray(trace.y, dtype=float)
        assert np.isnan(y).sum() == 1
        assert np.nanmin(y) < -12


def test_histogram_grid_one_column_per_run_each_with_its_own_value_axis(group):
    fig = charts.histogram_grid(group.hists, ["a", "b", "c"], "act", labels=group.labels)
    heatmaps = [t for t in fig.data if t.type == "heatmap"]
    assert len(heatmaps) == 3 * 4  # three runs, four hidden layers
    assert {t.coloraxis for t in heatmaps} == {"coloraxis"}  # one colour scale for every cell
    titles = [a.text for a in fig.layout.annotations]
    assert titles[:3] == ["<b>a</b>", "<b>sigmoid</b>", "<b>c</b>"]
    assert [a.font.color for a in fig.layout.annotations[:3]] == [charts.run_color(r) for r in "abc"]
    layout = fig.layout.to_plotly_json()
    bottom_left = "x10"  # row 4, column 1 of a 4x3 grid: (4 - 1) * 3 + 1
    ranges = {}
    for trace in heatmaps:  # every cell: its own value axis, over its own run's bins, with its labels shown
        axis = layout[charts.style.axis_key(trace.yaxis)]
        assert "matches" not in axis and axis.get("showticklabels") is not False
        assert axis["range"] == [trace.y[0], trace.y[-1]]
        ranges[trace.name] = axis["range"]
    assert ranges["sigmoid h2"] == [0.0, 1.0] and ranges["c h2"] == [-1.0, 1.0]  # each activation's own range
    assert ranges["a h2"] != ranges["sigmoid h2"]  # relu: the span of its own first probe
    for n in range(1, 13):
        if f"xaxis{n}" != "xaxis10":
            assert layout[f"xaxis{n if n > 1 else ''}"]["matches"] == bottom_left  # every cell shares the step axis
    # Each cell holds its own run's counts for its layer, as log codes.
    cube = charts.hist_cube(group.hists, "b", "act")
    cell = heatmaps[1 * 4 + 2]  # run b (second column), h3 (third row): traces go column by column
    assert cell.name == "sigmoid h3"
    expected = np.rint(np.log10(1 + cube.counts[:, 2, :].T) * charts.histograms.LOG_COUNT_STEPS)
    assert np.array_equal(np.asarray(cell.z), np.minimum(expected, 255).astype(np.uint8)[:, : np.shape(cell.z)[1]])


def test_histogram_grid_runs_of_other_depths_leave_their_missing_rows_empty():
    mixed = train_run({"dataset": "moons", "hidden": "3x8", "steps": 20, "probe_every": 5, "samples": 200,
                    "b.hidden": "8"})
    fig = charts.histogram_grid(mixed.hists, ["a", "b"], "act", labels=mixed.labels)
    names = [t.name for t in fig.data]
    assert names == ["a h1", "a h2", "a h3", "b h1"]
    assert charts.histogram_grid(mixed.hists, ["x"], "act").data == ()  # no such run: waiting
