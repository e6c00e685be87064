"""Every chart builder on real tables stays valid and within budget: empty tables say waiting, a run that
just started, diverged and poisoned tables, tables in another row order, many layers and runs, the
tables left as they were, and a table read once."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
import pytest

from app import charts
from engine.training.predictions import Prediction
from tests.chart_helpers import Run, more_layers


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


def test_tables_in_another_row_order_give_the_same_figures(group):
    shuffled = group.hists.sample(frac=1.0, random_state=1)
    for kind in ("act", "grad"):
        a = charts.histogram_heatmap(group.hists, "c", kind=kind)
        b = charts.histogram_heatmap(shuffled, "c", kind=kind)
        assert [np.asarray(t.z).tolist() for t in a.data] == [np.asarray(t.z).tolist() for t in b.data]
    layers = group.layers.sample(frac=1.0, random_state=1)
    a, b = charts.update_ratio_figure(group.layers), charts.update_ratio_figure(layers)
    assert [list(t.y) for t in a.data] == [list(t.y) for t in b.data]


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
    layers = more_layers(group.layers, 40)
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
