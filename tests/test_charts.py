"""Chart builders (app/charts/) on real tables from short engine runs: shape, order, colour, scale,
budgets, and robustness (empty tables, diverged runs, tables in another row order)."""

from __future__ import annotations

import ast
import colorsys
import inspect
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
import pytest

import engine
from app import charts, help_texts
from engine.api import summarize
from engine.training import predictions as predictions_module
from engine.training.findings import FINDING_CODES
from engine.training.predictions import Prediction, predict
from engine.training.probes import STATS
from engine.training.trainer import GroupTrainer


@dataclass
class Run:
    scalars: pd.DataFrame
    layers: pd.DataFrame
    hists: pd.DataFrame
    findings: list[dict]
    prediction: Prediction
    data: Any
    labels: dict[str, str]


def _train(config: dict) -> Run:
    group = engine.parse_group(config)
    trainer = GroupTrainer(group)
    trainer.run()
    scalars, layers, hists, _, findings = summarize(trainer)
    return Run(scalars, layers, hists, findings, predict(trainer), trainer.data,
               dict(zip(group.ids, group.labels)))


@pytest.fixture(scope="module")
def deep() -> Run:
    """One 10-layer classification run with a full history (256 probe steps)."""
    return _train({"dataset": "spiral", "hidden": "10x8", "activation": "tanh", "steps": 510, "probe_every": 2,
                   "samples": 400})


@pytest.fixture(scope="module")
def group() -> Run:
    """Three runs side by side (relu, sigmoid, tanh), labelled."""
    return _train({"dataset": "moons", "hidden": "4x8", "activation": "relu", "steps": 150, "probe_every": 5,
                   "samples": 300, "b.activation": "sigmoid", "c.activation": "tanh", "b.label": "sigmoid"})


@pytest.fixture(scope="module")
def sine() -> Run:
    return _train({"dataset": "sine", "hidden": "2x16", "steps": 100, "probe_every": 10, "samples": 200,
                   "b.activation": "relu"})


@pytest.fixture(scope="module")
def digits() -> Run:
    return _train({"dataset": "digits", "hidden": "16", "activation": "relu", "optimizer": "adam", "lr": 0.01,
                   "steps": 60, "probe_every": 10})


@pytest.fixture(scope="module")
def dead() -> Run:
    """Run a: ReLU from all-zero weights, so every hidden unit's slope is exactly 0 and no gradient reaches a
    hidden layer at all; run b the same net from He init, alive."""
    return _train({"dataset": "moons", "hidden": "3x8", "activation": "relu", "init": "zeros", "steps": 60,
                   "probe_every": 5, "samples": 200, "b.init": "he_normal"})


@pytest.fixture(scope="module")
def diverged() -> Run:
    return _train({"dataset": "sine", "lr": 10, "hidden": "3x16", "steps": 200, "probe_every": 5})


# ------------------------------------------------------------------------------------------ helpers


def _all_figures(run: Run, run_id: str = "a") -> dict[str, go.Figure]:
    return {
        "loss": charts.loss_accuracy_figure(run.scalars, labels=run.labels),
        "loss_log": charts.loss_accuracy_figure(run.scalars, log_y=True),
        "output": charts.prediction_figure(run.prediction, run_id, run.data),
        "act_time": charts.histogram_heatmap(run.hists, run_id, kind="act"),
        "preact_time": charts.histogram_heatmap(run.hists, run_id, kind="preact"),
        "grad_hist": charts.histogram_heatmap(run.hists, run_id, kind="grad"),
        "act_now": charts.depth_profile(run.hists, run_id, kind="act"),
        "preact_now": charts.depth_profile(run.hists, run_id, kind="preact"),
        "grad_now": charts.depth_profile(run.hists, run_id, kind="grad"),
        "grad_depth": charts.gradient_depth_figure(run.layers, labels=run.labels),
        "grad_time": charts.gradient_time_figure(run.layers, run_id),
        "grad_time_all": charts.gradient_time_figure(run.layers, labels=run.labels),
        "grad_time_runs": charts.gradient_time_grid(run.layers, list(run.labels), labels=run.labels),
        "saturation": charts.saturation_figure(run.layers, labels=run.labels),
        "saturation_depth": charts.saturation_depth_figure(run.layers, labels=run.labels),
        "act_grid": charts.histogram_grid(run.hists, list(run.labels), "act", labels=run.labels),
        "grad_grid": charts.histogram_grid(run.hists, list(run.labels), "grad", labels=run.labels),
        "update": charts.update_ratio_figure(run.layers, run_id),
    }


def _validate(fig: go.Figure) -> None:
    """The builders skip Plotly's validation for speed; every property must still be valid."""
    go.Figure(fig.to_dict())
    pio.to_json(fig, validate=False)


def _line_points(fig: go.Figure) -> int:
    return sum(len(t.x) for t in fig.data if t.type == "scatter" and t.x is not None)


def _cells(fig: go.Figure) -> int:
    return sum(np.size(t.z) for t in fig.data if t.type == "heatmap")


def _waiting(fig: go.Figure) -> bool:
    return any("waiting" in (a.text or "").lower() for a in fig.layout.annotations)


def _hue(color: str) -> float:
    r, g, b = (int(color[i : i + 2], 16) / 255 for i in (1, 3, 5))
    return colorsys.rgb_to_hls(r, g, b)[0]


def _lightness(color: str) -> float:
    r, g, b = (int(color[i : i + 2], 16) / 255 for i in (1, 3, 5))
    return colorsys.rgb_to_hls(r, g, b)[1]


def _same_hue(color: str, run_id: str) -> bool:
    difference = abs(_hue(color) - _hue(charts.run_color(run_id)))
    return min(difference, 1 - difference) < 0.03


def _latest(table: pd.DataFrame, run: str, stat: str) -> pd.Series:
    rows = table[(table["run"] == run) & (table["stat"] == stat)]
    return rows[rows["step"] == rows["step"].max()].set_index("layer")["value"]


def _panel_names(fig: go.Figure) -> list[str]:
    """Heatmap panels, top to bottom, by their trace names."""
    return [t.name for t in fig.data if t.type == "heatmap"]


# --------------------------------------------------------------------------------------------- basics


def test_run_colours_are_okabe_ito_and_other_ids_get_a_fixed_other_colour():
    okabe_ito = ["#0072B2", "#D55E00", "#009E73", "#CC79A7"]  # blue, vermillion, bluish green, reddish purple
    assert [charts.run_color(r) for r in "abcd"] == okabe_ito
    # Another id gets one of the other colours by its characters, the same in every process (not hash()).
    assert charts.run_color("e") == "#56B4E9" and charts.run_color("zz") == "#E69F00"
    others = {charts.run_color(r) for r in ("e", "f", "g", "h", "zz", "run-7")}
    assert len(others) > 1 and not others & set(okabe_ito)


def test_every_finding_and_statistic_has_its_words():
    assert set(help_texts.FINDING_TITLES) == set(FINDING_CODES)  # the Compare page's titles
    assert set(help_texts.STAT_MEANINGS) == set(STATS)  # the Guide's table: every stat, and no other


def test_depth_order_is_numeric():
    assert charts.depth_order(["out", "h10", "h2", "h1", "h9"]) == ["h1", "h2", "h9", "h10", "out"]


def _name(node: ast.expr) -> str | None:
    return node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else None


def _caption_keys_the_pages_use() -> dict[str, set[str]]:
    """The caption keys each module of the app looks up, read from its source: the name of every
    chart(figure, name) drawn without a caption of its own, every HOW_TO_READ["key"], and for a
    HOW_TO_READ[<...>.kind] (the "what the net computes" chart) every kind of Prediction the engine makes."""
    kinds = {node.args[0].value for node in ast.walk(ast.parse(inspect.getsource(predictions_module)))
             if isinstance(node, ast.Call) and _name(node.func) == "Prediction"}
    assert len(kinds) >= 3
    root = Path(__file__).resolve().parent.parent
    used = {}
    for path in sorted((root / "app").rglob("*.py")):
        keys = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Call) and _name(node.func) == "chart":
                arguments = node.args + [k.value for k in node.keywords if k.arg in ("figure", "name")]
                if len(node.args) < 3 and not any(k.arg == "how_to_read" for k in node.keywords):
                    name = arguments[1]
                    assert isinstance(name, ast.Constant), f"{path}:{node.lineno}: a caption key known to no test"
                    keys.add(name.value)
            elif isinstance(node, ast.Call) and _name(node.func) == "titled_pair":  # (title, name, caption)
                for item in node.args[2:]:
                    assert isinstance(item, ast.Tuple) and isinstance(item.elts[1], ast.Constant), (
                        f"{path}:{node.lineno}: a caption key known to no test")
                    if isinstance(item.elts[2], ast.Constant) and item.elts[2].value is None:
                        keys.add(item.elts[1].value)
            elif isinstance(node, ast.Subscript) and _name(node.value) == "HOW_TO_READ":
                if isinstance(node.slice, ast.Constant):
                    keys.add(node.slice.value)
                elif _name(node.slice) == "kind":
                    keys |= kinds
        used[path.relative_to(root).as_posix()] = keys
    return used


def test_the_captions_are_those_of_the_charts_the_pages_draw():
    used = _caption_keys_the_pages_use()
    assert used["app/playground.py"] and used["app/compare.py"]
    drawn = set().union(*used.values())
    assert drawn - set(help_texts.HOW_TO_READ) == set()  # every chart a page draws has its caption ...
    assert set(help_texts.HOW_TO_READ) - drawn == set()  # ... and every caption a chart that a page draws
    for key, text in help_texts.HOW_TO_READ.items():
        assert len(text) > 40, key


@pytest.mark.parametrize("which", ["deep", "group", "sine", "digits", "diverged"])
def test_every_figure_is_valid_plotly(which, request):
    run = request.getfixturevalue(which)
    for name, fig in _all_figures(run).items():
        assert isinstance(fig, go.Figure), name
        _validate(fig)
        assert not _waiting(fig), name


def test_builders_leave_the_tables_alone(group):
    before = [t.copy() for t in (group.scalars, group.layers, group.hists)]
    _all_figures(group, "b")
    for old, new in zip(before, (group.scalars, group.layers, group.hists)):
        pd.testing.assert_frame_equal(old, new)


# ------------------------------------------------------------------------------------- 1. loss


def test_loss_training_smoothed_validation_prominent_and_log_axis(deep):
    fig = charts.loss_accuracy_figure(deep.scalars)
    assert len(fig.data) == 6  # loss and accuracy: raw training, smoothed training, validation
    by_name = {(t.name, t.yaxis): t for t in fig.data}
    raw, smooth, val = (by_name[(name, "y")] for name in ("training minibatch", "training (smoothed)", "validation"))
    assert smooth.line.dash == "dot" and val.line.dash == "solid"
    assert val.line.width > smooth.line.width > raw.line.width  # validation is the line to read
    assert raw.opacity < 0.5 and raw.hoverinfo == "skip"  # the minibatch noise, faint behind
    rows = deep.scalars[(deep.scalars["run"] == "a") & (deep.scalars["metric"] == "loss")
                        & (deep.scalars["split"] == "train")].sort_values("step")
    steps, truth = rows["step"].to_numpy(), rows["value"].to_numpy()
    assert np.allclose(raw.y, truth[np.searchsorted(steps, raw.x)])  # the raw values, as they are
    y = np.asarray(smooth.y, dtype=float)
    assert np.allclose(y, charts.curves.smoothed(truth)[np.searchsorted(steps, smooth.x)])
    # Smoothed: it moves far less from point to point than the minibatch values it averages.
    assert np.abs(np.diff(y)).sum() < 0.5 * np.abs(np.diff(np.asarray(raw.y, dtype=float))).sum()
    assert y[0] == pytest.approx(truth[0])  # debiased: the average starts at the first value, not at 0
    assert "validation loss" in val.hovertemplate and "smoothed" in smooth.hovertemplate
    assert {t.yaxis for t in fig.data} == {"y", "y2"}
    assert fig.layout.yaxis.type == "linear"
    assert charts.loss_accuracy_figure(deep.scalars, log_y=True).layout.yaxis.type == "log"
    assert fig.layout.yaxis2.title.text == "accuracy"


def test_smoothing_keeps_gaps_and_follows_a_step():
    values = np.array([1.0, 1.0, np.inf, 1.0, *[0.0] * 96])
    out = charts.curves.smoothed(values)
    assert np.isnan(out[2]) and out[:2].tolist() == [1.0, 1.0] and out[3] == 1.0
    assert 0 < out[10] < out[4] < 1 and out[-1] < 1e-3  # it follows the drop, with a lag


def test_loss_regression_has_no_accuracy_panel(sine):
    fig = charts.loss_accuracy_figure(sine.scalars)
    lines = [t for t in fig.data if t.x[0] is not None]
    assert len(lines) == 4  # two runs, training (smoothed) and validation; no raw noise beside several runs
    assert {t.yaxis for t in lines} == {"y"}
    assert [t.name for t in fig.data if t.x[0] is None] == ["validation", "training (smoothed)"]  # the line key


def test_loss_group_one_colour_per_run_with_labels_readable_with_four_runs(group):
    fig = charts.loss_accuracy_figure(group.scalars, labels=group.labels)
    lines = [t for t in fig.data if t.x[0] is not None]
    assert len(lines) == 12  # three runs, two metrics, training and validation
    for trace in lines:
        assert trace.line.color == charts.run_color(trace.legendgroup)
    # The legend: one entry per run (its validation loss), then the two line styles.
    assert [t.name for t in fig.data if t.showlegend is not False] == ["a", "sigmoid", "c", "validation",
                                                                       "training (smoothed)"]
    assert len([t for t in charts.loss_accuracy_figure(group.scalars, runs=["b"]).data]) == 6
    four = group.scalars.copy()
    extra = four[four["run"] == "a"].copy()
    extra["run"] = "d"
    fig = charts.loss_accuracy_figure(pd.concat([four, extra], ignore_index=True))
    assert len([t for t in fig.data if t.x[0] is not None]) == 16
    assert sum(t.showlegend is not False for t in fig.data) == 6


# ------------------------------------------------------------------------------ 2. predictions


def test_boundary_heatmap_and_points(group):
    fig = charts.prediction_figure(group.prediction, "b", group.data)
    heat, train, val = fig.data
    assert heat.type == "heatmap" and heat.zmin == 0 and heat.zmax == 1 and heat.zmid == 0.5
    z = np.asarray(heat.z, dtype=float)
    assert z.shape == group.prediction.values[1].shape and np.nanmin(z) >= 0 and np.nanmax(z) <= 1
    assert np.allclose(z, group.prediction.values[1], atol=1e-3)  # run b's, not a's
    assert train.marker.symbol != val.marker.symbol
    assert len(train.x) == min(len(group.data.raw_train), charts.predictions.MAX_TRAIN_POINTS)
    assert len(val.x) == min(len(group.data.raw_val), charts.predictions.MAX_VAL_POINTS)
    colours = dict(zip(np.asarray(train.customdata).tolist(), train.marker.color))
    assert colours == {0: charts.predictions.CLASS_COLORS[0], 1: charts.predictions.CLASS_COLORS[1]}
    xs, ys = group.prediction.axes  # the map keeps its data's range in a column of any shape
    assert list(fig.layout.xaxis.range) == [xs[0], xs[-1]] and list(fig.layout.yaxis.range) == [ys[0], ys[-1]]
    assert fig.layout.xaxis.constrain == fig.layout.yaxis.constrain == "domain"
    assert heat.showscale is not False
    side = charts.prediction_figure(group.prediction, "a", group.data, colorbar=False)  # maps side by side: one bar
    assert side.data[0].showscale is False


def test_boundary_accepts_tuples_tensors_and_keywords(group):
    d = group.data
    for fig in (charts.prediction_figure(group.prediction, "a", (d.raw_train, d.y_train, d.raw_val, d.y_val)),
                charts.prediction_figure(group.prediction, "a", raw_train=d.raw_train, y_train=d.y_train,
                                         raw_val=d.raw_val, y_val=d.y_val),
                charts.prediction_figure(group.prediction, "a", {"raw_train": d.raw_train, "y_train": d.y_train})):
        assert fig.data[0].type == "heatmap" and fig.data[1].type == "scatter"
    assert len(charts.prediction_figure(group.prediction, "a").data) == 1  # no points given: the map alone


def test_curve_points_and_one_line_per_run(sine):
    fig = charts.prediction_figure(sine.prediction, None, sine.data, labels=sine.labels)
    lines = [t for t in fig.data if t.mode == "lines"]
    assert [t.line.color for t in lines] == [charts.run_color("a"), charts.run_color("b")]
    assert len(lines[0].x) == len(sine.prediction.axes[0])
    markers = [t for t in fig.data if t.mode == "markers"]
    assert [t.name for t in markers] == ["train", "val"]
    one = charts.prediction_figure(sine.prediction, "b", sine.data)
    assert [t.line.color for t in one.data if t.mode == "lines"] == [charts.run_color("b")]


def test_confusion_matrix(digits):
    fig = charts.prediction_figure(digits.prediction, "a", digits.data)
    (heat,) = fig.data
    counts = np.asarray(heat.customdata)
    assert counts.shape == (10, 10)
    assert counts.sum() == len(digits.data.y_val)
    assert fig.layout.yaxis.autorange == "reversed"


# ------------------------------------------------------------------------- 3. histograms


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
    wide = _more_layers(deep.hists, 30)
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
    assert all(_same_hue(t.line.color, "a") for t in fig.data)
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


def test_tables_in_another_row_order_give_the_same_figures(group):
    shuffled = group.hists.sample(frac=1.0, random_state=1)
    for kind in ("act", "grad"):
        a = charts.histogram_heatmap(group.hists, "c", kind=kind)
        b = charts.histogram_heatmap(shuffled, "c", kind=kind)
        assert [np.asarray(t.z).tolist() for t in a.data] == [np.asarray(t.z).tolist() for t in b.data]
    layers = group.layers.sample(frac=1.0, random_state=1)
    a, b = charts.update_ratio_figure(group.layers), charts.update_ratio_figure(layers)
    assert [list(t.y) for t in a.data] == [list(t.y) for t in b.data]


# ------------------------------------------------------------------- exact zeros: the marked floor


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


def test_zero_gradients_across_depth_are_drawn_on_a_marked_floor(dead):
    fig = charts.gradient_depth_figure(dead.layers, labels=dead.labels)
    for yaxis, stat in (("y", "grad_preact_rms"), ("y2", "weight_grad_rms")):
        floor = _floor_line(fig, yaxis).y[0]
        truth = _latest(dead.layers, "a", stat)
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


def test_hover_names_the_statistic_in_words(deep):
    fig = charts.gradient_time_figure(deep.layers, "a")
    assert fig.data[2].hovertemplate == "gradient size |dL/dz| RMS at h3: %{y:.2g} (step %{x})<extra></extra>"
    depth = charts.gradient_depth_figure(deep.layers)
    assert depth.data[1].hovertemplate.startswith("a · weight gradient size |dL/dW| RMS at %{x}:")
    assert "activation at h1" in charts.histogram_heatmap(deep.hists, "a").data[0].hovertemplate


# ------------------------------------------------------------------ side by side: gradients, ticks


def test_compare_gradient_over_time_one_panel_per_run_one_line_per_layer(group):
    fig = charts.gradient_time_grid(group.layers, ["a", "b", "c"], labels=group.labels)
    lines = [t for t in fig.data if t.mode == "lines" and t.legendgroup != "floor"]
    layers = ["h1", "h2", "h3", "h4", "out"]
    panels = {"a": "y", "b": "y2", "c": "y3"}
    assert sorted((t.legendgroup, _layer_of(t.hovertemplate)) for t in lines) == [(r, n) for r in "abc" for n in layers]
    for trace in lines:
        run, layer = trace.legendgroup, _layer_of(trace.hovertemplate)
        assert trace.yaxis == panels[run] and _same_hue(trace.line.color, run)
        truth = group.layers[(group.layers["run"] == run) & (group.layers["layer"] == layer)
                             & (group.layers["stat"] == "grad_preact_rms")].sort_values("step")
        assert np.allclose(trace.y, truth["value"]) and list(trace.x) == list(truth["step"])
    layout = fig.layout
    assert layout.yaxis.type == "log" and layout.yaxis2.matches == "y" and layout.yaxis3.matches == "y"
    assert [a.text for a in layout.annotations if a.yref == "paper"] == ["<b>a</b>", "<b>sigmoid</b>", "<b>c</b>"]


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


# ----------------------------------------------------------------------------- 4-6. layer stats


def test_gradient_depth_latest_values_log_axes_depth_order(deep):
    fig = charts.gradient_depth_figure(deep.layers)
    assert fig.layout.yaxis.type == "log" and fig.layout.yaxis2.type == "log"
    dz, dw = fig.data
    expected = [f"h{i}" for i in range(1, 11)] + ["out"]
    assert list(dz.x) == expected and list(dw.x) == expected
    assert list(fig.layout.xaxis.categoryarray) == expected
    truth = _latest(deep.layers, "a", "grad_preact_rms")
    assert np.allclose(dz.y, truth.reindex(expected).to_numpy())
    assert np.allclose(dw.y, _latest(deep.layers, "a", "weight_grad_rms").reindex(expected).to_numpy())


def test_gradient_depth_one_line_per_run_in_run_colour(group):
    fig = charts.gradient_depth_figure(group.layers, labels=group.labels)
    assert len(fig.data) == 6
    for trace in fig.data:
        assert trace.line.color == charts.run_color(trace.legendgroup)
    assert sum(bool(t.showlegend) for t in fig.data) == 3
    at_step = charts.gradient_depth_figure(group.layers, step=20)
    assert set(np.asarray(at_step.data[0].customdata).tolist()) == {20}


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
        assert np.allclose(trace.y, _latest(group.layers, trace.legendgroup, stat).reindex(list(trace.x)))
    # relu (a) never as saturated: under inactive_frac once the engine reports it (issue 12), else not at all
    assert drawn["saturated_frac"] == {"b", "c"} and drawn["dead_frac"] == {"a", "b", "c"}
    assert drawn.get("inactive_frac", {"a"}) == {"a"}


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
    mixed = _train({"dataset": "moons", "hidden": "3x8", "steps": 20, "probe_every": 5, "samples": 200,
                    "b.hidden": "8"})
    fig = charts.histogram_grid(mixed.hists, ["a", "b"], "act", labels=mixed.labels)
    names = [t.name for t in fig.data]
    assert names == ["a h1", "a h2", "a h3", "b h1"]
    assert charts.histogram_grid(mixed.hists, ["x"], "act").data == ()  # no such run: waiting


def test_gradient_time_log_y_one_line_per_layer(deep):
    fig = charts.gradient_time_figure(deep.layers, "a")
    assert fig.layout.yaxis.type == "log"
    assert [t.name for t in fig.data] == [f"h{i}" for i in range(1, 11)] + ["out"]
    assert all(_same_hue(t.line.color, "a") for t in fig.data)


def test_saturation_a_panel_per_kind_per_run_colours(group):
    fig = charts.saturation_figure(group.layers, labels=group.labels, activations=GROUP_ACTIVATIONS)
    stats = _panel_stats(fig)
    assert list(fig.layout.yaxis.range) == [-0.02, 1.02]
    runs = {t.legendgroup for t in fig.data}
    assert runs == {"a", "b", "c"}
    lines = {}
    for trace in fig.data:
        assert _same_hue(trace.line.color, trace.legendgroup)
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


def test_colours_agree_across_charts(group):
    for run in ("a", "b", "c"):
        colour = charts.run_color(run)
        loss = charts.loss_accuracy_figure(group.scalars)
        depth = charts.gradient_depth_figure(group.layers)
        assert {t.line.color for t in loss.data if t.legendgroup == run} == {colour}
        assert {t.line.color for t in depth.data if t.legendgroup == run} == {colour}
        assert all(_same_hue(t.line.color, run) for t in charts.update_ratio_figure(group.layers, run).data
                   if t.legendgroup != "reference")
        assert all(_same_hue(t.line.color, run) for t in charts.depth_profile(group.hists, run).data)


# --------------------------------------------------------------------------------- robustness


def test_empty_tables_say_waiting(deep):
    empty_s, empty_l, empty_h = deep.scalars.iloc[:0], deep.layers.iloc[:0], deep.hists.iloc[:0]
    figures = [
        charts.loss_accuracy_figure(empty_s), charts.loss_accuracy_figure(None),
        charts.prediction_figure(None, "a"),
        charts.histogram_heatmap(empty_h, "a"), charts.histogram_heatmap(None, "a", kind="grad"),
        charts.histogram_heatmap(deep.hists, "d"),  # a run that is not there
        charts.depth_profile(empty_h, "a"), charts.gradient_depth_figure(empty_l),
        charts.gradient_time_figure(empty_l, "a"), charts.saturation_figure(empty_l),
        charts.update_ratio_figure(None), charts.update_ratio_figure(deep.layers, "b"),
    ]
    for fig in figures:
        assert _waiting(fig)
        assert len(fig.data) == 0
        _validate(fig)


def test_a_run_that_just_started(group):
    first = {name: t[t["step"] == 0] for name, t in
             (("scalars", group.scalars), ("layers", group.layers), ("hists", group.hists))}
    run = Run(first["scalars"], first["layers"], first["hists"], [], group.prediction, group.data, group.labels)
    for name, fig in _all_figures(run).items():
        _validate(fig)
        assert not _waiting(fig), name


def test_diverged_and_poisoned_tables_do_not_raise(diverged):
    layers = diverged.layers.copy()
    layers.loc[layers.index[::3], "value"] = np.nan
    layers.loc[layers.index[1::3], "value"] = np.inf
    layers.loc[layers.index[2::7], "value"] = 0.0
    scalars = diverged.scalars.copy()
    scalars.loc[scalars.index[::2], "value"] = np.inf
    hists = diverged.hists.copy()
    prediction = Prediction(diverged.prediction.kind, 0, ["a"], diverged.prediction.axes,
                            np.full_like(diverged.prediction.values, np.nan))
    run = Run(scalars, layers, hists, [], prediction, diverged.data, {})
    for fig in _all_figures(run).values():
        _validate(fig)
        for trace in fig.data:
            if trace.type == "scatter" and trace.y is not None:
                y = np.asarray(trace.y, dtype=float)
                assert not np.isinf(y).any()


def test_points_stay_within_budget_for_a_deep_full_history(deep):
    assert deep.layers["step"].nunique() == 256
    figures = _all_figures(deep)
    for name, fig in figures.items():
        assert _line_points(fig) <= 5000, name
        assert _cells(fig) <= 25_000, name
        assert all(len(t.x) <= charts.curves.MAX_TRACE_POINTS + 1 for t in fig.data if t.type == "scatter"
                   and t.mode == "lines" and not t.fill), name
    assert sum(_line_points(f) for f in figures.values()) < 25_000


def test_many_layers_and_runs_cap_the_lines(group):
    layers = _more_layers(group.layers, 40)
    for fig in (charts.saturation_figure(layers), charts.update_ratio_figure(layers),
                charts.gradient_time_figure(layers)):
        per_panel: dict[str, int] = {}
        for trace in fig.data:
            if trace.legendgroup not in ("reference", "floor"):
                per_panel[trace.yaxis] = per_panel.get(trace.yaxis, 0) + 1
        assert max(per_panel.values()) <= charts.curves.MAX_LINES
        assert _line_points(fig) <= 5000
    depth = charts.gradient_depth_figure(layers)
    assert list(depth.data[0].x) == charts.depth_order(depth.data[0].x)


def _more_layers(table: pd.DataFrame, depth: int) -> pd.DataFrame:
    """A deeper net's table made from a shallower one: hidden layers repeated and renamed h1..h{depth}."""
    hidden = [name for name in charts.depth_order(table["layer"].unique()) if name != "out"]
    parts = []
    for i in range(depth):
        part = table[table["layer"] == hidden[i % len(hidden)]].copy()
        part["layer"] = f"h{i + 1}"
        parts.append(part)
    parts.append(table[table["layer"] == "out"])
    return pd.concat(parts, ignore_index=True).sort_values("step", kind="stable").reset_index(drop=True)


# ------------------------------------------------------------------------------------ reading


def test_a_table_is_read_once_and_a_new_table_is_read_again(deep):
    first = charts.hist_cube(deep.hists, "a", "grad")
    assert charts.hist_cube(deep.hists, "a", "grad") is first
    assert not first.counts.flags.writeable
    changed = deep.hists.copy()
    changed["count"] = changed["count"] * 2
    assert np.array_equal(charts.hist_cube(changed, "a", "grad").counts, first.counts * 2)
    layers = deep.layers.copy()
    layers["value"] = layers["value"] * 10
    before = charts.update_ratio_figure(deep.layers, "a").data[0].y
    after = charts.update_ratio_figure(layers, "a").data[0].y
    assert np.allclose(np.asarray(after), np.asarray(before) * 10)


# ------------------------------------------------------------------------------ the README's claim


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
    run = _train({**_readme_compare_link(), "seed": str(seed)})
    fig = charts.gradient_time_grid(run.layers, list(run.labels), labels=run.labels)
    lines = {(t.legendgroup, _layer_of(t.hovertemplate)): np.asarray(t.y, dtype=float) for t in fig.data
             if t.mode == "lines" and t.legendgroup != "floor"}
    ratio = {r: lines[(r, "h1")] / lines[(r, "h8")] for r in "abc"}
    assert np.all((ratio["a"] > 2e-7) & (ratio["a"] < 5e-6))  # sigmoid: about a millionth, from start to end
    assert 5e-3 < ratio["b"][0] < 3e-2 and 0.15 < ratio["b"][-1] < 0.6  # tanh: a hundredth, then about a third
    assert np.all((ratio["c"] > 0.1) & (ratio["c"] < 15))  # relu + He: within about a factor of ten
