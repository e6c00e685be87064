"""The net at a glance (app/charts/network.py): one column per layer from real engine tables, units or a bar,
colours that follow the chosen quantity, zero gradients marked, one colour range across runs; and both
training pages draw it once a job has data (AppTest)."""

from __future__ import annotations

import math
import time

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
import pytest

import engine
from app import charts
from app.charts.network import MAX_UNITS, NO_GRADIENT, NOT_MEASURED
from app.pages import COMPARE, PLAYGROUND
from engine.vocabulary.config import layer_sizes


def _train(config: dict) -> tuple[dict, dict, object]:
    """(layer widths by run, labels by run, the layers table) of a short real run."""
    result = engine.train(config)
    group = engine.parse_group(config)
    return dict(zip(group.ids, map(layer_sizes, group.runs))), dict(zip(group.ids, group.labels)), result.layers


@pytest.fixture(scope="module")
def vanishing():
    """Sigmoid, 10x32, standard init: h1's gradient is about 1e-11, h10's about 1e-3."""
    return _train({"hidden": "10x32", "activation": "sigmoid", "init": "standard", "steps": 20, "probe_every": 10})


@pytest.fixture(scope="module")
def dead():
    """ReLU from all-zero weights: every hidden layer's gradient is exactly 0, forever."""
    return _train({"hidden": "3x8", "activation": "relu", "init": "zeros", "steps": 20, "probe_every": 10})


@pytest.fixture(scope="module")
def mixed():
    """Widths around MAX_UNITS, and a group of runs of different depths and activations."""
    return _train({"hidden": "3,16,16,17,1024", "activation": "sigmoid", "init": "standard", "steps": 10,
                   "probe_every": 5, "b.hidden": "2x8", "b.activation": "relu", "b.init": "he_normal",
                   "b.label": "relu"})


def _units(fig: go.Figure, panel: str = "y") -> list:
    """The unit traces (circles and bars) of one run's panel, legend keys left out."""
    return [t for t in fig.data if (t.yaxis or "y") == panel and t.hovertext is not None]


def _at(fig: go.Figure, column: int, panel: str = "y") -> list[tuple[str, object, str]]:
    """(trace type, colour, hover text) of every unit drawn in `column` of a panel; colour is a number on
    the figure's colour scale or a fixed colour string."""
    out = []
    for trace in _units(fig, panel):
        for x, color, text in zip(trace.x, trace.marker.color, trace.hovertext):
            if x == column:
                out.append((trace.type, color, text))
    return out


def _value(fig: go.Figure, column: int, panel: str = "y") -> float:
    colors = {float(color) for _, color, _ in _at(fig, column, panel)}
    assert len(colors) == 1  # one value per layer: the engine measures per layer
    return colors.pop()


def _validate(fig: go.Figure) -> None:
    go.Figure(fig.to_dict())  # every property valid, though the builder skips validation
    pio.to_json(fig, validate=False)


def test_one_column_per_layer_input_to_output(vanishing):
    sizes, _, layers = vanishing
    fig = charts.network_figure(layers, sizes)
    _validate(fig)
    names = ["input", *(f"h{i}" for i in range(1, 11)), "out"]
    assert list(fig.layout.xaxis.ticktext) == names
    assert list(fig.layout.xaxis.tickvals) == list(range(12))
    drawn = sorted({int(x) for trace in _units(fig) for x in trace.x})
    assert drawn == list(range(12))  # every column has its units, in order
    for column, name in enumerate(names):
        assert all(f"<b>{name}</b>" in text for _, _, text in _at(fig, column))


def test_narrow_layers_draw_a_circle_per_unit_and_wide_ones_a_bar(mixed):
    sizes, _, layers = mixed
    fig = charts.network_figure(layers, {"a": sizes["a"]})
    _validate(fig)
    widths = sizes["a"]
    assert widths == [2, 3, 16, 16, 17, 1024, 2]
    for column, width in enumerate(widths):
        units = _at(fig, column)
        if width <= MAX_UNITS:
            assert len(units) == width and {kind for kind, _, _ in units} == {"scatter"}, width
        else:
            assert len(units) == 1 and units[0][0] == "bar", width
        assert all(f"{width:,} " in text for _, _, text in units)  # the width in the hover text
    widths_shown = next(t for t in fig.data if t.type == "scatter" and t.mode == "text").text
    assert list(widths_shown) == ["2", "3", "16", "16", "17", "1,024", "2"]
    lines, bands = (t for t in fig.data if t.type == "scatter" and t.mode == "lines")
    # Lines 2x3, 3x16, a band for 16x16, lines to and from 4 points on a bar's side: not 1024x17 lines
    assert len(lines.x) == 3 * (2 * 3 + 3 * 16 + 16 * 4 + 4 * 4 + 4 * 2) and len(bands.x) == 6


def test_gradient_colour_is_log_size_and_vanishing_shows_from_h1_to_h10(vanishing):
    sizes, _, layers = vanishing
    fig = charts.network_figure(layers, sizes, "gradient")
    rows = layers[(layers["stat"] == "grad_preact_rms") & (layers["step"] == layers["step"].max())]
    table = rows.set_index("layer")["value"]
    h1, h10, out = _value(fig, 1), _value(fig, 10), _value(fig, 11)
    assert h1 == pytest.approx(math.log10(table["h1"])) and h10 == pytest.approx(math.log10(table["h10"]))
    assert h1 < h10 - 5  # orders of magnitude apart: the signal dies on the way back
    assert out == pytest.approx(math.log10(table["out"]))
    axis = fig.layout.coloraxis
    assert axis.cmin <= h1 and axis.cmax >= out and axis.cmin == int(axis.cmin)  # whole decades, all inside
    assert axis.colorbar.ticktext[0] == f"1e{int(axis.cmin)}"
    hover = _at(fig, 1)[0][2]
    assert "gradient size (RMS of dL/dz)" in hover and f"{table['h1']:.3g}" in hover and "32 units" in hover
    assert "nothing is measured" in _at(fig, 0)[0][2] and _at(fig, 0)[0][1] == NOT_MEASURED  # the input


@pytest.mark.parametrize(("quantity", "stat"), [("saturated", "saturated_frac"), ("dead", "dead_frac"),
                                                ("spread", "act_std")])
def test_other_quantities_colour_by_their_own_stat(vanishing, mixed, quantity, stat):
    for sizes, _, layers in (vanishing, mixed):
        fig = charts.network_figure(layers, {"a": sizes["a"]}, quantity)
        _validate(fig)
        runs = layers[(layers["run"] == "a") & (layers["stat"] == stat)]
        table = runs[runs["step"] == runs["step"].max()].set_index("layer")["value"]
        for column in range(1, len(sizes["a"]) - 1):
            assert _value(fig, column) == pytest.approx(table[f"h{column}"])
        out = _at(fig, len(sizes["a"]) - 1)
        assert {color for _, color, _ in out} == {NOT_MEASURED}  # measured for hidden layers only
        assert "hidden layers only" in out[0][2]
        axis = fig.layout.coloraxis
        if quantity == "spread":
            assert axis.cmin == 0 and axis.cmax >= table.max()
        else:
            assert (axis.cmin, axis.cmax) == (0, 1) and axis.colorbar.tickformat == ".0%"
    saturated = charts.network_figure(vanishing[2], {"a": vanishing[0]["a"]}, "saturated")
    assert _value(saturated, 1) != _value(charts.network_figure(vanishing[2], {"a": vanishing[0]["a"]}), 1)


def test_exactly_zero_gradient_is_drawn_in_the_no_gradient_colour(dead):
    sizes, _, layers = dead
    fig = charts.network_figure(layers, sizes, "gradient")
    _validate(fig)
    for column in (1, 2, 3):
        units = _at(fig, column)
        assert len(units) == 8  # drawn, not dropped
        assert {color for _, color, _ in units} == {NO_GRADIENT}
        assert all("no gradient" in text and "exactly 0" in text for _, _, text in units)
    assert isinstance(_value(fig, 4), float)  # the output layer's gradient is not zero: on the scale
    on_scale = [t for t in _units(fig) if t.marker.coloraxis == "coloraxis"]
    assert all(NO_GRADIENT not in list(t.marker.color) for t in on_scale)
    keys = {t.name: t.marker.color for t in fig.data if t.showlegend is not False}
    assert keys["no gradient (exactly 0)"] == NO_GRADIENT


def test_runs_share_columns_and_one_colour_range(mixed):
    sizes, labels, layers = mixed
    fig = charts.network_figure(layers, sizes, "gradient", labels=labels)
    _validate(fig)
    assert list(fig.layout.xaxis.ticktext) == ["input", "h1", "h2", "h3", "h4", "h5", "out"]  # the deepest run's
    for panel in ("y", "y2"):  # a's panel, then b's: both on the one colour scale
        assert any(t.marker.coloraxis == "coloraxis" for t in _units(fig, panel))
    values = [_value(fig, c, p) for p, columns in (("y", range(1, 7)), ("y2", (1, 2, 6))) for c in columns]
    assert fig.layout.coloraxis.cmin <= min(values) and fig.layout.coloraxis.cmax >= max(values)
    assert len([key for key in fig.layout.to_plotly_json() if key.startswith("coloraxis")]) == 1
    assert _at(fig, 6, "y2") and not _at(fig, 3, "y2")  # b's out stands in the out column; b has no h3
    assert "relu" in " ".join(a.text for a in fig.layout.annotations)
    # The shared range is wider than b's own: colours compare across runs, not within one only.
    alone = charts.network_figure(layers, {"b": sizes["b"]}, "gradient")
    shared = (fig.layout.coloraxis.cmin, fig.layout.coloraxis.cmax)
    assert shared[1] - shared[0] > alone.layout.coloraxis.cmax - alone.layout.coloraxis.cmin


def test_runs_drawn_apart_share_a_colour_range_when_given_one(mixed):
    """network_color_range is the range the runs get together; each diagram drawn apart with it as
    `color_range` colours the same gradient the same, its colour bar ticked over the whole range."""
    sizes, labels, layers = mixed
    together = charts.network_figure(layers, sizes, "gradient", labels=labels).layout.coloraxis
    shared = charts.network_color_range(layers, list(sizes), "gradient")
    assert shared == (together.cmin, together.cmax)
    for run in sizes:
        fig = charts.network_figure(layers, {run: sizes[run]}, "gradient", color_range=shared)
        _validate(fig)
        bar = fig.layout.coloraxis
        assert (bar.cmin, bar.cmax) == shared
        assert bar.colorbar.tickvals[0] == shared[0] and bar.colorbar.tickvals[-1] <= shared[1]
    assert charts.network_color_range(layers, list(sizes), "saturated") == (0.0, 1.0)  # fractions: fixed


def test_before_data_and_after_divergence_the_net_is_drawn_white(vanishing):
    sizes, _, layers = vanishing
    for table in (None, layers.iloc[:0]):
        fig = charts.network_figure(table, sizes)
        _validate(fig)
        assert {color for column in range(12) for _, color, _ in _at(fig, column)} == {NOT_MEASURED}
    poisoned = layers.copy()
    poisoned.loc[poisoned["layer"] == "h3", "value"] = np.nan
    fig = charts.network_figure(poisoned, sizes)
    assert _at(fig, 3)[0][1] == NOT_MEASURED and "not a number" in _at(fig, 3)[0][2]


def test_every_quantity_is_built_and_small(vanishing):
    sizes, _, layers = vanishing
    figures = charts.network_figures(layers, sizes)
    assert list(figures) == [f"network_{name}" for name in charts.NETWORK_QUANTITIES]
    wide = charts.network_figure(layers, {"a": [2, 1024, 1024, 2]})
    assert len(pio.to_json(wide, validate=False)) < 12_000 and len(wide.data) < 10
    for name, sizes_ in (("10x32", sizes), ("2x1024", {"a": [2, 1024, 1024, 2]})):
        start = time.perf_counter()
        for _ in range(10):
            charts.network_figure(layers, sizes_)
        print(f"network_figure {name}: {(time.perf_counter() - start) / 10 * 1000:.2f} ms")  # reported, not asserted


# --------------------------------------------------------------------------------------------- the pages


def _drawn(app) -> list[str]:
    return [c.proto.id.rsplit("-chart-", 1)[1] for c in app.get("plotly_chart")]


def test_the_playground_draws_the_net_beside_what_it_computes():
    from tests.test_compare import _open, _wait_until_ended

    app = _open(PLAYGROUND.script, {"hidden": "3x8", "steps": "100", "probe_every": "5"})
    app.button(key=f"{PLAYGROUND.prefix}train").click().run()
    _wait_until_ended(app.session_state[f"{PLAYGROUND.prefix}job_id"])
    app.run()  # a fragment's timer never fires in AppTest: rerun the page
    assert not app.exception
    assert _drawn(app)[:2] == ["network", "output"]  # at the top of the live view, side by side
    assert "The net at a glance" in [h.value for h in app.subheader]
    selector = app.radio(key=f"{PLAYGROUND.prefix}network_quantity")
    assert selector.value == "gradient"  # the default
    selector.set_value("dead").run()
    assert not app.exception and _drawn(app).count("network") == 1


def test_compare_draws_one_aligned_diagram_for_every_run():
    from tests.test_compare import _open, _wait_until_ended

    app = _open(COMPARE.script, {"hidden": "3x8", "steps": "100", "probe_every": "5", "b.hidden": "2x8",
                                 "b.label": "shallow"})
    app.button(key=f"{COMPARE.prefix}train").click().run()
    _wait_until_ended(app.session_state[f"{COMPARE.prefix}job_id"])
    app.run()
    assert not app.exception
    assert _drawn(app).count("network") == 1 and _drawn(app)[0] == "network"
    figure = next(c for c in app.get("plotly_chart") if c.proto.id.endswith("-chart-network"))
    spec = figure.proto.spec
    assert "shallow" in spec  # b's panel is labelled
    assert spec.count('"coloraxis"') >= 2  # every run's units on the one colour scale
