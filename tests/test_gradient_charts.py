"""Gradient size charts on real runs: across depth, over time, one panel per run side by side, exact
zeros drawn on a marked floor, and the README's claim read from the Compare page's chart."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import plotly.graph_objects as go
import pytest

from app import charts
from tests.chart_helpers import latest, same_hue, train_run


def _floor_line(fig: go.Figure, yaxis: str = "y") -> Any:
    (line,) = [t for t in fig.data if t.name == charts.style.NO_GRADIENT and t.mode == "lines" and t.yaxis == yaxis]
    assert line.line.dash == "dash" and len(set(line.y)) == 1
    return line


def _layer_of(hover: str) -> str:
    return hover.split(" at ", 1)[1].split(":", 1)[0]


def _assert_floor_axis(fig: go.Figure, yaxis: str, floor: float, real: list[float]) -> None:
    """The floor lies below every real value, inside the axis's range, ticked "0" and labelled."""
    assert real and floor < min(real) / 5
    axis = fig.layout[charts.style.axis_key(yaxis)]
    assert axis.type == "log" and axis.range[0] < math.log10(floor) < min(math.log10(v) for v in real)
    assert axis.ticktext[list(axis.tickvals).index(floor)] == "0"
    assert any(a.text == charts.style.NO_GRADIENT and a.yref == yaxis for a in fig.layout.annotations)


def test_gradient_depth_latest_values_log_axes_depth_order(deep):
    fig = charts.gradient_depth_figure(deep.layers)
    assert fig.layout.yaxis.type == "log" and fig.layout.yaxis2.type == "log"
    dz, dw = fig.data
    expected = [f"h{i}" for i in range(1, 11)] + ["out"]
    assert list(dz.x) == expected and list(dw.x) == expected
    assert list(fig.layout.xaxis.categoryarray) == expected
    truth = latest(deep.layers, "a", "grad_preact_rms")
    assert np.allclose(dz.y, truth.reindex(expected).to_numpy())
    assert np.allclose(dw.y, latest(deep.layers, "a", "weight_grad_rms").reindex(expected).to_numpy())


def test_gradient_depth_one_line_per_run_in_run_colour(group):
    fig = charts.gradient_depth_figure(group.layers, labels=group.labels)
    assert len(fig.data) == 6
    for trace in fig.data:
        assert trace.line.color == charts.run_color(trace.legendgroup)
    assert sum(bool(t.showlegend) for t in fig.data) == 3
    at_step = charts.gradient_depth_figure(group.layers, step=20)
    assert set(np.asarray(at_step.data[0].customdata).tolist()) == {20}


def test_gradient_time_log_y_one_line_per_layer(deep):
    fig = charts.gradient_time_figure(deep.layers, "a")
    assert fig.layout.yaxis.type == "log"
    assert [t.name for t in fig.data] == [f"h{i}" for i in range(1, 11)] + ["out"]
    assert all(same_hue(t.line.color, "a") for t in fig.data)


def test_compare_gradient_over_time_one_panel_per_run_one_line_per_layer(group):
    fig = charts.gradient_time_grid(group.layers, ["a", "b", "c"], labels=group.labels)
    lines = [t for t in fig.data if t.mode == "lines" and t.legendgroup != "floor"]
    layers = ["h1", "h2", "h3", "h4", "out"]
    panels = {"a": "y", "b": "y2", "c": "y3"}
    assert sorted((t.legendgroup, _layer_of(t.hovertemplate)) for t in lines) == [(r, n) for r in "abc" for n in layers]
    for trace in lines:
        run, layer = trace.legendgroup, _layer_of(trace.hovertemplate)
        assert trace.yaxis == panels[run] and same_hue(trace.line.color, run)
        truth = group.layers[(group.layers["run"] == run) & (group.layers["layer"] == layer)
                             & (group.layers["stat"] == "grad_preact_rms")].sort_values("step")
        assert np.allclose(trace.y, truth["value"]) and list(trace.x) == list(truth["step"])
    layout = fig.layout
    assert layout.yaxis.type == "log" and layout.yaxis2.matches == "y" and layout.yaxis3.matches == "y"
    assert [a.text for a in layout.annotations if a.yref == "paper"] == ["<b>a</b>", "<b>sigmoid</b>", "<b>c</b>"]


def test_zero_gradients_across_depth_are_drawn_on_a_marked_floor(dead):
    fig = charts.gradient_depth_figure(dead.layers, labels=dead.labels)
    for yaxis, stat in (("y", "grad_preact_rms"), ("y2", "weight_grad_rms")):
        floor = _floor_line(fig, yaxis).y[0]
        truth = latest(dead.layers, "a", stat)
        zero_layers = sorted(truth.index[truth == 0], key=charts.depth_key)
        assert len(zero_layers) >= 3  # every hidden layer of the dead run
        (points,) = [t for t in fig.data if t.mode == "markers" and t.yaxis == yaxis]
        assert points.legendgroup == "a" and points.marker.color == charts.run_color("a")
        assert list(points.x) == zero_layers and set(points.y) == {floor}
        assert "exactly 0" in points.hovertemplate and charts.style.STAT_NAMES[stat] in points.hovertemplate
        line_a = next(t for t in fig.data if t.mode == "lines+markers" and t.yaxis == yaxis and t.legendgroup == "a")
        assert np.isnan(np.asarray(line_a.y, dtype=float)[[list(line_a.x).index(x) for x in zero_layers]]).all()
        real = [v for t in fig.data if t.mode == "lines+markers" and t.yaxis == yaxis
                for v in np.asarray(t.y, dtype=float) if np.isfinite(v)]
        _assert_floor_axis(fig, yaxis, floor, real)
    alive = charts.gradient_depth_figure(dead.layers, runs=["b"])  # no zeros: no floor
    assert not [t for t in alive.data if t.name == charts.style.NO_GRADIENT]
    assert "0" not in alive.layout.yaxis.ticktext


def test_zero_gradients_over_time_are_drawn_on_a_marked_floor(dead):
    rows = dead.layers[(dead.layers["stat"] == "grad_preact_rms") & (dead.layers["run"] == "a")]
    zeros = {(layer, int(step)) for layer, step in rows.loc[rows["value"] == 0, ["layer", "step"]].itertuples(False)}
    assert {layer for layer, _ in zeros} == {"h1", "h2", "h3"}
    for fig in (charts.gradient_time_figure(dead.layers, "a"), charts.gradient_time_figure(dead.layers),
                charts.gradient_time_grid(dead.layers, ["a", "b"], labels=dead.labels)):
        floor = _floor_line(fig).y[0]
        points = [t for t in fig.data if t.mode == "markers"]
        drawn = {(_layer_of(t.hovertemplate), int(x)) for t in points for x in t.x}
        assert drawn == zeros  # every exact zero of run a, and nothing else
        assert all(set(t.y) == {floor} and "exactly 0" in t.hovertemplate for t in points)
        assert all(t.yaxis == "y" for t in points)  # run a's panel (the grid's first)
        real = [v for t in fig.data if t.mode == "lines" and t.legendgroup != "floor"
                for v in np.asarray(t.y, dtype=float) if np.isfinite(v)]
        _assert_floor_axis(fig, "y", floor, real)
    assert not [t for t in charts.gradient_time_figure(dead.layers, "b").data if t.mode == "markers"]


def _readme_compare_link() -> dict[str, str]:
    from urllib.parse import parse_qsl, urlsplit

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    (link,) = {word.strip("<>:") for word in readme.split() if word.startswith("<http://localhost:8501/compare?")}
    return {k: v for k, v in parse_qsl(urlsplit(link).query) if k != "autorun"}  # autorun: a page key


@pytest.mark.parametrize("seed", [0, 1])
def test_the_readme_compare_link_shows_what_the_readme_says(seed):
    """README: sigmoid's h1 about a millionth of its h8 throughout; tanh's starting at about a hundredth and
    recovering to about a third; ReLU with He init within about a factor of ten of flat. Read from the
    Compare page's gradient-over-time chart."""
    run = train_run({**_readme_compare_link(), "seed": str(seed)})
    fig = charts.gradient_time_grid(run.layers, list(run.labels), labels=run.labels)
    lines = {(t.legendgroup, _layer_of(t.hovertemplate)): np.asarray(t.y, dtype=float) for t in fig.data
             if t.mode == "lines" and t.legendgroup != "floor"}
    ratio = {r: lines[(r, "h1")] / lines[(r, "h8")] for r in "abc"}
    assert np.all((ratio["a"] > 2e-7) & (ratio["a"] < 5e-6))  # sigmoid: about a millionth, from start to end
    assert 5e-3 < ratio["b"][0] < 3e-2 and 0.15 < ratio["b"][-1] < 0.6  # tanh: a hundredth, then about a third
    assert np.all((ratio["c"] > 0.1) & (ratio["c"] < 15))  # relu + He: within about a factor of ten
