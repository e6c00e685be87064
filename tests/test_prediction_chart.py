"""What the net computes, on real runs: the decision boundary map with its points, the regression curve
per run, and the confusion matrix."""

from __future__ import annotations

import numpy as np

from app import charts


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
