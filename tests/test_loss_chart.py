"""The loss and accuracy chart on real runs: raw, smoothed and validation lines, the log axis, one
colour per run, no accuracy panel for regression."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from app import charts


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
