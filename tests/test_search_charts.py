"""The Search page's figures: valid Plotly, one panel per searched key on its own scale, the values tried
counted, the chosen trial starred, and every trial's curve with its best step and early stop."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import pytest

from app.charts.search import curves_figure, score_by_key_figure
from engine.search import tables
from engine.search.backend import LocalBackend
from engine.search.run import run_search
from engine.search.spec import parse_search

FIXED = {"dataset": "moons", "samples": "300", "hidden": "2x12", "steps": "300", "probe_every": "10",
         "early_stopping": "3", "seed": "1"}


@pytest.fixture(scope="module")
def grid():
    spec = parse_search(FIXED, {"lr": "log:1e-3:3", "activation": "tanh|relu", "dropout": "0:0.2"}, "grid", 16)
    outcome = run_search(spec, LocalBackend())
    return outcome, tables.trials_table(outcome), tables.curves_table(outcome)


def test_one_panel_per_key_on_its_own_scale_counting_the_values_tried(grid):
    outcome, trials, _ = grid
    figure = score_by_key_figure(trials, outcome.spec.space, "val_accuracy")
    go.Figure(figure.to_dict())  # validates every property
    layout = figure.layout
    assert layout.xaxis.type == "log" and layout.xaxis2.type == "category"
    assert layout.xaxis3.type in (None, "linear", "-")  # dropout: a uniform range
    assert layout.xaxis.title.text == "lr (2 values tried)"
    assert layout.xaxis2.title.text == "activation (2 values tried)"
    dots = [trace for trace in figure.data if trace.name == "trial"]
    assert len(dots) == 3 and all(len(trace.y) == 8 for trace in dots)  # 2 x 2 x 2: the largest grid in 16
    stars = [trace for trace in figure.data if trace.name == "chosen by validation"]
    best = trials.iloc[0]
    assert len(stars) == 3 and stars[0].x == (best["lr"],) and stars[0].y == (best["val_accuracy"],)


def test_every_trial_has_a_curve_that_ends_where_it_ended_with_its_marks(grid):
    _, trials, curves = grid
    figure = curves_figure(curves, trials)
    go.Figure(figure.to_dict())
    lines = [trace for trace in figure.data if trace.mode == "lines"]
    assert len(lines) == 8 and lines[-1].line.width == 3  # the chosen trial on top, thick
    ends = {int(row.trial): int(row.steps) for row in trials.itertuples()}
    for trace in lines:
        trial = int(trace.name.split()[1])
        assert max(trace.x) == ends[trial]
    stops = next(trace for trace in figure.data if trace.name == "early stop")
    stopped = trials[trials["status"] == "early_stopped"]
    assert len(stops.x) == len(stopped) and sorted(stops.x) == sorted(stopped["steps"])
    kept = next(trace for trace in figure.data if trace.name == "best step (kept)")
    assert sorted(kept.x) == sorted(trials["best_step"].astype(int))
    assert figure.layout.yaxis.type == "log" and figure.layout.yaxis.title.text == "validation loss"


def test_before_any_score_the_figures_say_they_are_waiting():
    empty_trials = pd.DataFrame(columns=["trial", "lr", *tables.TRIAL_COLUMNS])
    empty_curves = pd.DataFrame(columns=list(tables.CURVE_COLUMNS))
    spec = parse_search(FIXED, {"lr": "log:1e-3:3"}, "random", 2)
    assert "Waiting" in score_by_key_figure(empty_trials, spec.space, "val_accuracy").layout.annotations[0].text
    assert "Waiting" in curves_figure(empty_curves, empty_trials).layout.annotations[0].text
