"""The backprop chart (app/charts/backprop.py) on hand-made layers tables in the engine's format: each hidden
layer's factor backward_gain and the running product from the top down, exactly the table's; the product at h1
is the gradient chart's h1/top ratio; log axis, the line at 1, sigmoid's 0.25 line only for sigmoid, the words
that say why, and the waiting figure while the stats are absent."""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
import pytest

from app import charts
from app.charts.backprop import SIGMOID_LINE, SIGMOID_MAX_SLOPE
from app.charts.style import MARGIN
from engine.lessons.charts import CHARTS, charts_for
from tests.layer_tables import layers_table, per_layer

DEPTH = 8
HIDDEN = [f"h{i}" for i in range(1, DEPTH + 1)]


def words_of(table, **kwargs) -> str:
    """The words the page shows above the chart drawn with the same arguments, one line per run."""
    return "\n".join(charts.backprop_words(table, **kwargs))


def _gradients(seed: int, shrink: float) -> dict[str, float]:
    """RMS of dL/dz per layer, `out` included: about `shrink` per layer toward the input, jittered."""
    rng = np.random.default_rng(seed)
    values = {"out": float(rng.uniform(0.5, 2.0))}
    size = values["out"]
    for name in reversed(HIDDEN):
        size *= shrink * float(rng.uniform(0.5, 1.5))
        values[name] = size
    return values


def _net_rows(run: str, step: int, gradients: dict[str, float], slope: float) -> list:
    """One probe step of a run as the engine reports it (issue 12's contract): grad_preact_rms per layer,
    backward_gain = RMS(dL/dz) here over one layer up (the top hidden layer's over out; NaN, absent, at out),
    slope_mean per hidden layer."""
    ups = [*HIDDEN[1:], "out"]
    gains = {name: gradients[name] / gradients[up] for name, up in zip(HIDDEN, ups)}
    slopes = {name: slope * (1 - 0.02 * i) for i, name in enumerate(HIDDEN)}
    return (per_layer(run, step, "grad_preact_rms", gradients) + per_layer(run, step, "backward_gain", gains)
            + per_layer(run, step, "slope_mean", slopes))


@pytest.fixture(params=[0, 1, 2])
def sigmoid_net(request):
    """An 8-layer sigmoid-like run at two probe steps: gradients shrink about 5x per layer toward the input."""
    rows = _net_rows("a", 0, _gradients(request.param, 0.15), 0.24) + _net_rows(
        "a", 10, _gradients(request.param + 10, 0.2), 0.2)
    return layers_table(rows)


def _trace(fig: go.Figure, starts: str) -> go.Scatter:
    (trace,) = [t for t in fig.data if (t.name or "").startswith(starts)]
    return trace


def _table(table, run: str, step: int, stat: str) -> dict[str, float]:
    rows = table[(table["run"] == run) & (table["step"] == step) & (table["stat"] == stat)]
    return dict(zip(rows["layer"].astype(str), rows["value"]))


def _validate(fig: go.Figure) -> None:
    go.Figure(fig.to_dict())  # every property valid, though the builder skips validation
    pio.to_json(fig, validate=False)


def test_factors_and_running_product_are_the_tables(sigmoid_net):
    fig = charts.backprop_figure(sigmoid_net, activations={"a": "sigmoid"})
    _validate(fig)
    gains = _table(sigmoid_net, "a", 10, "backward_gain")  # the latest step
    factor, product = _trace(fig, "factor"), _trace(fig, "running product")
    assert list(factor.x) == HIDDEN and list(product.x) == HIDDEN  # input left, out not a factor of its own
    assert np.array_equal(np.asarray(factor.y), [gains[name] for name in HIDDEN])
    for i, name in enumerate(HIDDEN):  # from the top down: the factors of h_i .. h7, h8's own (over out) left out
        assert product.y[i] == math.prod(gains[n] for n in reversed(HIDDEN[i:-1])), name
    assert product.y[-1] == 1.0


def test_the_running_product_at_h1_is_the_gradient_charts_h1_over_top_ratio(sigmoid_net):
    for step in (0, 10):
        fig = charts.backprop_figure(sigmoid_net, step=step)
        gradients = _table(sigmoid_net, "a", step, "grad_preact_rms")
        ratio = gradients["h1"] / gradients[HIDDEN[-1]]
        assert _trace(fig, "running product").y[0] == pytest.approx(ratio, rel=1e-12)
        # and the gradient chart draws the same two numbers for that step
        depth = charts.gradient_depth_figure(sigmoid_net, step=step)
        (line,) = [t for t in depth.data if t.yaxis in (None, "y") and t.legendgroup == "a" and t.mode != "markers"]
        drawn = dict(zip(line.x, line.y))
        assert drawn["h1"] / drawn[HIDDEN[-1]] == pytest.approx(ratio, rel=1e-12)
        assert ratio < 1e-3  # tiny: the gradient vanished on the way down


def test_log_axis_and_the_line_at_one(sigmoid_net):
    fig = charts.backprop_figure(sigmoid_net)
    assert fig.layout.yaxis.type == "log"
    low, high = fig.layout.yaxis.range
    values = [*_trace(fig, "factor").y, *_trace(fig, "running product").y]
    assert 10**low <= min(values) and max(values) <= 10**high and 10**low < 1 < 10**high  # all in view, 1 too
    one = _trace(fig, "1:")
    assert list(one.y) == [1.0, 1.0] and list(one.x) == ["h1", HIDDEN[-1]] and one.line.dash == "dash"


def test_the_slope_panel_holds_slope_mean(sigmoid_net):
    fig = charts.backprop_figure(sigmoid_net)
    slope = _trace(fig, "mean slope")
    assert slope.xaxis == "x2" and slope.yaxis == "y2" and fig.layout.yaxis2.type != "log"
    slopes = _table(sigmoid_net, "a", 10, "slope_mean")
    assert np.array_equal(np.asarray(slope.y), [slopes[name] for name in HIDDEN])
    assert fig.layout.yaxis2.range[0] == 0 and fig.layout.yaxis2.range[1] >= 1


def test_sigmoids_quarter_line_and_the_words_only_for_sigmoid(sigmoid_net):
    fig = charts.backprop_figure(sigmoid_net, activations={"a": "sigmoid"})
    quarter = _trace(fig, SIGMOID_LINE)
    assert list(quarter.y) == [SIGMOID_MAX_SLOPE] * 2 == [0.25, 0.25] and quarter.yaxis == "y2"
    assert [a.text for a in fig.layout.annotations] == [SIGMOID_LINE]  # the words are the page's, not the figure's
    assert fig.layout.margin.t == MARGIN["t"]  # so no room is kept above the panels for them
    title = words_of(sigmoid_net, activations={"a": "sigmoid"})
    assert len(title.splitlines()) == 1  # one run, one sentence
    product = _trace(fig, "running product").y[0]
    assert f"{product:.2g}" in title and "7 of the 7 factors" in title and "at most 0.25" in title
    for other in ({"a": "relu"}, {"a": "tanh"}, None):
        fig = charts.backprop_figure(sigmoid_net, activations=other)
        assert not [t for t in fig.data if t.name == SIGMOID_LINE]
        assert not [a for a in fig.layout.annotations if a.text == SIGMOID_LINE]
        assert "0.25" not in words_of(sigmoid_net, activations=other)


def test_the_words_count_the_factors_below_one():
    gradients = {"out": 1.0, "h8": 1.0, "h7": 2.0, "h6": 1.0, "h5": 0.5, "h4": 0.5, "h3": 1.0, "h2": 2.0, "h1": 1.0}
    table = layers_table(_net_rows("a", 0, gradients, 0.5))
    fig = charts.backprop_figure(table, activations={"a": "relu"})
    assert "3 of the 7 factors" in words_of(table, activations={"a": "relu"})  # h1, h3, h6 (0.5) are below 1
    assert list(_trace(fig, "running product").y) == [1.0, 2.0, 1.0, 0.5, 0.5, 1.0, 2.0, 1.0]


def test_waiting_until_the_stats_arrive(sigmoid_net):
    only_gradients = sigmoid_net[sigmoid_net["stat"] == "grad_preact_rms"].reset_index(drop=True)
    for table in (None, sigmoid_net.iloc[:0], only_gradients):
        fig = charts.backprop_figure(table)
        assert not fig.data and "Waiting" in fig.layout.annotations[0].text
        assert charts.backprop_words(table) == []
    assert not charts.backprop_figure(sigmoid_net, runs=["b"]).data  # a run that is not there
    assert charts.backprop_words(sigmoid_net, runs=["b"]) == []


def test_runs_overlay_in_their_colours_at_a_chosen_step(sigmoid_net):
    relu = layers_table(_net_rows("b", 0, _gradients(7, 0.9), 0.5) + _net_rows("b", 10, _gradients(8, 1.0), 0.5))
    both = layers_table([*sigmoid_net.itertuples(index=False, name=None), *relu.itertuples(index=False, name=None)])
    fig = charts.backprop_figure(both, step=0, labels={"a": "sigmoid", "b": "relu"},
                                 activations={"a": "sigmoid", "b": "relu"})
    _validate(fig)
    for run, label in (("a", "sigmoid"), ("b", "relu")):
        mine = [t for t in fig.data if t.legendgroup == run]
        assert {t.line.color for t in mine} == {charts.run_color(run)}
        gains = _table(both, run, 0, "backward_gain")
        assert np.array_equal(np.asarray(_trace(fig, f"{label} · factor").y), [gains[n] for n in HIDDEN])
    assert len(fig.data) == 2 * 3 + 2  # factor, product, slope per run; the line at 1; sigmoid's 0.25
    sigmoid, relu = words_of(both, step=0, labels={"a": "sigmoid", "b": "relu"},
                             activations={"a": "sigmoid", "b": "relu"}).splitlines()  # one line per run, in order
    product = _trace(fig, "sigmoid · running product").y[0]
    assert sigmoid.startswith(f"sigmoid · h1 gets {product:.2g}× h8's gradient") and "at most 0.25" in sigmoid
    assert relu.startswith("relu · h1 gets") and "0.25" not in relu
    assert words_of(both, runs=["b"], labels={"b": "<b>relu</b> & co"}).startswith("h1 gets")  # one run: no label
    tagged = words_of(both, labels={"a": "sigmoid", "b": "<b>relu</b> & co"})
    assert "<b>relu</b> & co · h1 gets" in tagged  # plain text, as given: the page escapes it where it shows it


def test_a_dead_layer_and_a_diverged_one_do_not_break_it():
    gradients = {"out": 1.0, **{name: 0.1 for name in HIDDEN}}
    rows = _net_rows("a", 0, gradients, 0.5)
    rows = [(r, s, layer, stat, 0.0 if (layer == "h3" and stat == "backward_gain") else v)
            for r, s, layer, stat, v in rows]  # h3 passes nothing: its factor is exactly 0
    fig = charts.backprop_figure(layers_table(rows))
    _validate(fig)
    floor = [t for t in fig.data if t.mode == "markers"]
    assert {x for t in floor for x in t.x} == {"h1", "h2", "h3"}  # the factor at h3, the product at h1-h3
    assert "none of" in words_of(layers_table(rows))
    rows = [(r, s, layer, stat, math.inf if layer == "h5" else v) for r, s, layer, stat, v in rows]
    _validate(charts.backprop_figure(layers_table(rows)))


def test_the_chart_is_registered_for_both_pages():
    assert CHARTS["backprop"].one_run and CHARTS["backprop"].comparison
    assert "backprop" in charts_for(1) and "backprop" in charts_for(3)
