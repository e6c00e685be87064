"""Saturation charts on hand-made layers tables in the engine's format: sigmoid and tanh report saturated_frac
(flat tails), ReLU-like activations inactive_frac (flat negative side), linear neither (issue 12). Each chart
draws each run under its own stat, labelled as such: a ReLU run never draws a "saturated" line, a linear run
draws no flat-part line at all, and a sigmoid run beside a ReLU run stays readable."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import pytest

from app import charts
from app.charts.network import NOT_MEASURED
from app.charts.style import NO_FLAT_PART
from app.preview_charts import LINEAR
from tests.layer_tables import layers_table, per_layer

HIDDEN = ["h1", "h2", "h3"]
SATURATED, INACTIVE = "saturated (flat tails)", "inactive (flat negative side)"
ACTIVATIONS = {"a": "sigmoid", "b": "relu", "c": "linear"}


def _run(run: str, stat: str | None, values: list[float], dead: list[float], steps=(0, 10)) -> list:
    """A run's rows: its flat-part stat (None: linear has none) and dead_frac per hidden layer, at each step
    (values grow a little with the step, so the latest is told apart)."""
    rows = []
    for k, step in enumerate(steps):
        grown = {name: v + 0.05 * k for name, v in zip(HIDDEN, values)}
        if stat is not None:
            rows += per_layer(run, step, stat, grown)
        rows += per_layer(run, step, "dead_frac", dict(zip(HIDDEN, dead)))
        rows += per_layer(run, step, "grad_preact_rms", {**dict.fromkeys(HIDDEN, 0.1), "out": 0.2})
    return rows


@pytest.fixture
def mixed():
    """sigmoid (a), relu (b) and linear (c), as the engine reports them once issue 12's stats land."""
    return layers_table(_run("a", "saturated_frac", [0.1, 0.4, 0.7], [0.0, 0.0, 0.0])
                        + _run("b", "inactive_frac", [0.45, 0.5, 0.6], [0.0, 0.1, 0.3])
                        + _run("c", None, [], [0.0, 0.0, 0.0]))


def _axis_titles(fig: go.Figure) -> dict[str, str]:
    """y axis reference -> its title."""
    layout = fig.layout.to_plotly_json()
    return {("y" + key[5:]): layout[key].get("title", {}).get("text", "") for key in layout if key.startswith("yaxis")}


def _by_panel(fig: go.Figure) -> dict[str, set[str]]:
    """Panel title -> the runs drawn in it."""
    titles = _axis_titles(fig)
    panels: dict[str, set[str]] = {}
    for trace in fig.data:
        if trace.type == "scatter" and trace.legendgroup:
            panels.setdefault(titles[trace.yaxis or "y"], set()).add(trace.legendgroup)
    return panels


def _latest(table, run: str, stat: str) -> dict[str, float]:
    rows = table[(table["run"] == run) & (table["stat"] == stat)]
    rows = rows[rows["step"] == rows["step"].max()]
    return dict(zip(rows["layer"].astype(str), rows["value"]))


def test_across_depth_a_sigmoid_and_a_relu_run_each_have_their_own_panel(mixed):
    fig = charts.saturation_depth_figure(mixed, labels={"a": "sigmoid", "b": "relu", "c": "linear"})
    go.Figure(fig.to_dict())
    assert _by_panel(fig) == {SATURATED: {"a"}, INACTIVE: {"b"}, "dead units": {"a", "b", "c"}}
    stat_of = {SATURATED: "saturated_frac", INACTIVE: "inactive_frac", "dead units": "dead_frac"}
    titles = _axis_titles(fig)
    for trace in fig.data:
        stat = stat_of[titles[trace.yaxis or "y"]]
        assert list(trace.x) == HIDDEN
        assert np.array_equal(np.asarray(trace.y), [_latest(mixed, trace.legendgroup, stat)[n] for n in HIDDEN])
        assert trace.line.color == charts.run_color(trace.legendgroup)
    relu_hover = [t.hovertemplate for t in fig.data if t.legendgroup == "b"]
    assert relu_hover and not any("saturated" in text for text in relu_hover)
    assert not [a for a in fig.layout.annotations if a.text == NO_FLAT_PART["text"]]


def test_over_time_each_kind_has_its_panel_and_linear_draws_only_dead_units(mixed):
    fig = charts.saturation_figure(mixed, activations=ACTIVATIONS)
    assert _by_panel(fig) == {SATURATED: {"a"}, INACTIVE: {"b"}, "dead units": {"a", "b", "c"}}
    assert [fig.layout[f"yaxis{n}"].range for n in ("", "2", "3")] == [(-0.02, 1.02)] * 3
    relu = charts.saturation_figure(mixed, "b")  # one run: only its own kind
    assert set(_by_panel(relu)) == {INACTIVE, "dead units"}  # one run: a legend entry per layer
    lines = {t.name: np.asarray(t.y) for t in relu.data if t.yaxis in (None, "y")}
    assert np.allclose(lines["h3"], [0.6, 0.65])  # inactive_frac of h3 at both steps


def test_a_linear_run_draws_no_flat_part_line_and_says_why(mixed):
    for fig in (charts.saturation_figure(mixed, "c"),
                charts.saturation_depth_figure(mixed, runs=["c"], activations=ACTIVATIONS)):
        assert set(_by_panel(fig)) == {"dead units"}
        assert [a.text for a in fig.layout.annotations if a.text == NO_FLAT_PART["text"]]


def test_a_relu_run_never_draws_a_saturated_line_even_from_a_table_that_has_one(mixed):
    """Before issue 12 the engine reported saturated_frac for ReLU (its whole negative half): given the runs'
    activations, the charts still draw each run only under the stat its activation has."""
    old = layers_table((run, step, layer, "saturated_frac" if stat == "inactive_frac" else stat, value)
                       for run, step, layer, stat, value in mixed.itertuples(index=False, name=None))
    for fig in (charts.saturation_figure(old, activations=ACTIVATIONS),
                charts.saturation_depth_figure(old, activations=ACTIVATIONS)):
        panels = _by_panel(fig)
        assert panels[SATURATED] == {"a"} and INACTIVE not in panels
    unfiltered = charts.saturation_depth_figure(old)  # without activations the table decides
    assert _by_panel(unfiltered)[SATURATED] == {"a", "b"}


def test_the_net_at_a_glance_colours_each_run_by_its_own_kind(mixed):
    sizes = {"a": [2, 4, 4, 4, 2], "b": [2, 4, 4, 4, 2]}
    saturated = charts.network_figure(mixed, sizes, "saturated")
    inactive = charts.network_figure(mixed, sizes, "inactive")
    for fig, mine, theirs in ((saturated, "y", "y2"), (inactive, "y2", "y")):  # run a's panel is y, b's y2
        go.Figure(fig.to_dict())
        units = [t for t in fig.data if t.hovertext is not None]
        measured = {(t.yaxis or "y") for t in units if t.marker.coloraxis == "coloraxis"}
        assert measured == {mine}  # only the run that reports the stat is coloured on the scale
        hidden_other = [text for t in units if (t.yaxis or "y") == theirs
                        for text, color in zip(t.hovertext, t.marker.color) if "<b>h" in text]
        assert hidden_other and all("not measured for this activation" in text for text in hidden_other)
        assert all(color == NOT_MEASURED for t in units if (t.yaxis or "y") == theirs for color in t.marker.color)
    assert charts.NETWORK_QUANTITIES["saturated"].label == SATURATED
    assert charts.NETWORK_QUANTITIES["inactive"].label == INACTIVE


def test_gallery_cards_draw_fractions_on_a_linear_axis():
    assert {"saturated_frac", "inactive_frac", "dead_frac"} <= set(LINEAR)
