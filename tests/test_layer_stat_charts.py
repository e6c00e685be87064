"""Per-layer stat charts on real runs besides gradient sizes: saturated, inactive and dead units across
depth and over time, the update ratio with its reference line; layers in depth order."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from app import charts
from tests.chart_helpers import latest, same_hue


def test_depth_order_is_numeric():
    assert charts.depth_order(["out", "h10", "h2", "h1", "h9"]) == ["h1", "h2", "h9", "h10", "out"]


GROUP_ACTIVATIONS = {"a": "relu", "b": "sigmoid", "c": "tanh"}  # the group fixture's runs


def _panel_stats(fig: go.Figure) -> dict[str, str]:
    """y axis reference -> the stat its panel plots, by the panel's title (the stat's name in words)."""
    stat_of = {words: stat for stat, words in charts.style.STAT_NAMES.items()}
    layout = fig.layout.to_plotly_json()
    return {"y" + key[5:]: stat_of[layout[key]["title"]["text"]] for key in layout if key.startswith("yaxis")}


def test_saturation_depth_one_line_per_run_at_the_latest_step(group):
    fig = charts.saturation_depth_figure(group.layers, labels=group.labels, activations=GROUP_ACTIVATIONS)
    assert sorted(t.name for t in fig.data if t.showlegend) == ["a", "c", "sigmoid"]
    assert list(fig.layout.yaxis.range) == [-0.02, 1.02] and fig.layout.yaxis.type != "log"
    stats = _panel_stats(fig)
    drawn = {}
    for trace in fig.data:
        assert trace.line.color == charts.run_color(trace.legendgroup)
        assert list(trace.x) == ["h1", "h2", "h3", "h4"]
        stat = stats[trace.yaxis]
        drawn.setdefault(stat, set()).add(trace.legendgroup)
        assert np.allclose(trace.y, latest(group.layers, trace.legendgroup, stat).reindex(list(trace.x)))
    # relu (a) never as saturated: under inactive_frac once the engine reports it (issue 12), else not at all
    assert drawn["saturated_frac"] == {"b", "c"} and drawn["dead_frac"] == {"a", "b", "c"}
    assert drawn.get("inactive_frac", {"a"}) == {"a"}


def test_saturation_a_panel_per_kind_per_run_colours(group):
    fig = charts.saturation_figure(group.layers, labels=group.labels, activations=GROUP_ACTIVATIONS)
    stats = _panel_stats(fig)
    assert list(fig.layout.yaxis.range) == [-0.02, 1.02]
    runs = {t.legendgroup for t in fig.data}
    assert runs == {"a", "b", "c"}
    lines = {}
    for trace in fig.data:
        assert same_hue(trace.line.color, trace.legendgroup)
        assert "out" not in trace.hovertemplate  # the output layer has no activation stats
        lines.setdefault(stats[trace.yaxis], set()).add(trace.legendgroup)
    assert sorted(t.name for t in fig.data if t.showlegend) == ["a", "c", "sigmoid"]
    assert lines["saturated_frac"] == {"b", "c"} and lines["dead_frac"] == {"a", "b", "c"}
    assert lines.get("inactive_frac", {"a"}) == {"a"}  # relu: inactive once the engine reports it, never saturated
    assert len(fig.data) == 4 * sum(len(runs) for runs in lines.values())  # four hidden layers per line set


def test_update_ratio_log_y_and_reference_line(deep):
    fig = charts.update_ratio_figure(deep.layers, "a")
    assert fig.layout.yaxis.type == "log"
    (reference,) = [t for t in fig.data if t.legendgroup == "reference"]
    assert list(reference.y) == [1e-3, 1e-3]
    assert reference.line.dash == "dash"
    steps = deep.layers.loc[deep.layers["stat"] == "update_ratio", "step"]
    assert list(reference.x) == [steps.min(), steps.max()]
