"""The weights chart (app/charts/weights.py) on hand-made layers tables in the engine's format: each run's weight RMS
and share of weights exactly 0 per layer, exactly the table's, input side left; a log axis for the RMS and a 0-1
axis whose 0% lies above the panel's floor; the title's numbers are the table's and its verbs fit each run's
penalty; the waiting figure while the stats are absent."""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
import pytest

from app import charts
from app.charts.style import MARGIN
from app.charts.weights import ZERO_RANGE, weight_words
from engine.lessons.charts import CHARTS, charts_for
from tests.layer_tables import layers_table, per_layer

LAYERS = ["h1", "h2", "h3", "out"]
LABELS = {"a": "l1 0.02", "b": "weight_decay 0.01", "c": "no penalty"}
PENALTIES = {"a": (0.02, 0.0), "b": (0.0, 0.01), "c": (0.0, 0.0)}


def _lesson(seed: int) -> list:
    """Two probe steps of the L1 lesson's three runs: L1 zeros most weights, weight decay shrinks without zeros,
    no penalty neither. Values jittered by `seed`, so no number is written into a test."""
    rng = np.random.default_rng(seed)
    rows = []
    for step in (0, 200):
        late = step > 0
        base = {name: float(rng.uniform(0.5, 2.0)) for name in LAYERS}
        shrink = {name: base[name] * float(rng.uniform(0.3, 0.7)) for name in LAYERS}
        sparse = {name: base[name] * float(rng.uniform(0.1, 0.5)) for name in LAYERS}
        zeros = {name: float(rng.uniform(0.6, 0.99)) if late else 0.0 for name in LAYERS}
        none = dict.fromkeys(LAYERS, 0.0)
        rows += per_layer("a", step, "weight_rms", sparse) + per_layer("a", step, "zero_frac", zeros)
        rows += per_layer("b", step, "weight_rms", shrink) + per_layer("b", step, "zero_frac", none)
        rows += per_layer("c", step, "weight_rms", base) + per_layer("c", step, "zero_frac", none)
    return rows


@pytest.fixture(params=[0, 1, 2])
def lesson(request):
    return layers_table(_lesson(request.param))


def _table(table, run: str, step: int, stat: str) -> dict[str, float]:
    rows = table[(table["run"] == run) & (table["step"] == step) & (table["stat"] == stat)]
    return dict(zip(rows["layer"].astype(str), rows["value"]))


def _line(fig: go.Figure, run: str, panel: str) -> go.Scatter:
    (trace,) = [t for t in fig.data if t.legendgroup == run and t.yaxis == panel and t.mode == "lines+markers"]
    return trace


def _words(table, **kwargs) -> str:
    """The words the page shows above the chart, one line per run."""
    return "\n".join(weight_words(table, **kwargs))


def _validate(fig: go.Figure) -> None:
    go.Figure(fig.to_dict())  # every property valid, though the builder skips validation
    pio.to_json(fig, validate=False)


def test_the_traces_hold_the_tables_values_input_side_left(lesson):
    for step in (None, 0):
        fig = charts.weights_figure(lesson, step=step, labels=LABELS)
        _validate(fig)
        at = 200 if step is None else step
        for run in "abc":
            for panel, stat in (("y", "weight_rms"), ("y2", "zero_frac")):
                line = _line(fig, run, panel)
                assert list(line.x) == LAYERS, (run, stat)
                values = _table(lesson, run, at, stat)
                assert np.array_equal(np.asarray(line.y), [values[name] for name in LAYERS]), (run, stat)
                assert line.line.color == charts.run_color(run)


def test_log_axis_for_the_size_and_a_zero_share_at_0_drawn_above_the_floor(lesson):
    fig = charts.weights_figure(lesson, labels=LABELS)
    assert fig.layout.yaxis.type == "log" and fig.layout.yaxis2.type != "log"
    low, high = fig.layout.yaxis.range
    sizes = [v for run in "abc" for v in _line(fig, run, "y").y]
    assert 10**low <= min(sizes) and max(sizes) <= 10**high  # every size in view
    bottom, top = fig.layout.yaxis2.range
    assert list(fig.layout.yaxis2.range) == ZERO_RANGE and bottom < 0 and top >= 1  # 0% is inside, above the edge
    assert 0.0 in fig.layout.yaxis2.tickvals and fig.layout.yaxis2.ticktext[0] == "0%"
    at_zero = [_line(fig, run, "y2") for run in "bc"]
    assert all(list(line.y) == [0.0] * len(LAYERS) for line in at_zero)  # drawn at 0, not left out
    assert at_zero[0].line.width > at_zero[1].line.width  # b's stripe shows around c's on the same 0 line


def test_the_titles_numbers_come_from_the_table(lesson):
    fig = charts.weights_figure(lesson, labels=LABELS)
    assert not fig.layout.annotations and fig.layout.margin.t == MARGIN["t"]  # the words are the page's, above it
    l1, decay, plain = _words(lesson, labels=LABELS, penalties=PENALTIES).splitlines()
    rms = _table(lesson, "a", 200, "weight_rms"), _table(lesson, "b", 200, "weight_rms")
    base = _table(lesson, "c", 200, "weight_rms")["h1"]
    zero = _table(lesson, "a", 200, "zero_frac")["h1"]
    assert l1 == (f"l1 0.02 · L1 sets {100 * zero:.0f}% of h1's weights to exactly 0 and shrinks them to "
                  f"{rms[0]['h1'] / base:.2g}× no penalty's RMS")
    assert decay == f"weight_decay 0.01 · weight decay shrinks h1's weights to {rms[1]['h1'] / base:.2g}× no " \
                    "penalty's RMS and zeros none"
    assert plain == f"no penalty · none of h1's weights exactly 0, RMS {base:.2g}"
    early = _words(lesson, step=0, labels=LABELS, penalties=PENALTIES)
    assert "L1 sets none of h1's weights to exactly 0" in early  # step 0: nothing zeroed yet, and it says so


def test_the_words_claim_only_what_the_numbers_show():
    rows = (per_layer("a", 0, "weight_rms", {"h1": 2.0}) + per_layer("a", 0, "zero_frac", {"h1": 0.004})
            + per_layer("b", 0, "weight_rms", {"h1": 1.0}) + per_layer("b", 0, "zero_frac", {"h1": 0.9996}))
    table = layers_table(rows)
    grows, tiny = weight_words(table, penalties={"a": (0.0, 0.01), "b": (0.0, 0.0)})
    assert grows == "a · weight decay leaves h1's weights at 2× b's RMS and leaves 0.4% of them at exactly 0"
    assert tiny == "b · 99% of h1's weights exactly 0, RMS 1"  # never rounded up to all, no verb without a penalty
    # without the runs' penalties the words only report the numbers
    assert weight_words(table) == ["a · 0.4% of h1's weights exactly 0, RMS 2",
                                   "b · 99% of h1's weights exactly 0, RMS 1"]
    (one,) = weight_words(table, runs=["a"], penalties={"a": (0.01, 0.0)})  # one run: no label, no baseline
    assert one == "L1 sets 0.4% of h1's weights to exactly 0"


def test_an_all_zero_layer_sits_on_a_marked_floor_of_the_log_panel():
    rows = (per_layer("a", 0, "weight_rms", {"h1": 0.5, "h2": 0.0, "out": 1.0})
            + per_layer("a", 0, "zero_frac", {"h1": 0.9, "h2": 1.0, "out": 0.1}))
    fig = charts.weights_figure(layers_table(rows))
    _validate(fig)
    (floor,) = [t for t in fig.data if t.mode == "markers"]
    assert list(floor.x) == ["h2"] and floor.y[0] < 0.5 and floor.name == "every weight exactly 0"
    assert math.isnan(_line(fig, "a", "y").y[1])  # not drawn at a made-up size on the log axis


def test_waiting_until_the_stats_arrive(lesson):
    for table in (None, lesson.iloc[:0], lesson[lesson["stat"] == "act_std"]):
        fig = charts.weights_figure(table)
        assert not fig.data and "Waiting" in fig.layout.annotations[0].text
    assert not charts.weights_figure(lesson, runs=["d"]).data  # a run that is not there
    only_rms = lesson[lesson["stat"] == "weight_rms"].reset_index(drop=True)  # zero_frac not measured yet
    fig = charts.weights_figure(only_rms, labels=LABELS)
    assert {t.yaxis for t in fig.data} == {"y"}
    assert any("Waiting" in (a.text or "") and a.xref == "x2 domain" for a in fig.layout.annotations)
    assert "exactly 0" not in _words(only_rms, penalties=PENALTIES)  # no zero share claimed that was not measured


def test_the_chart_is_registered_for_both_pages():
    assert CHARTS["weights"].one_run and CHARTS["weights"].comparison
    assert "weights" in charts_for(1) and "weights" in charts_for(3)
    assert CHARTS["weights"].quantities[0] == "zero_frac"
