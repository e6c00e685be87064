"""The Debug page (app/debug.py) through AppTest, and its charts (app/charts/gradcheck.py): its own link keys,
the planted-bug banner there and on the training pages, the check's verdict and the sanity view."""

from __future__ import annotations

import math
from pathlib import Path
from urllib.parse import parse_qsl

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from app.charts.gradcheck import BANDS, FLOOR, error_vs_h_figure, overfit_figure, tensor_errors_figure
from app.debug_view import widget_key
from app.pages import COMPARE, DEBUG, GUIDE, PAGES, PLAYGROUND
from app.plain_text import shown
from engine.debugging.gradcheck import gradient_check
from engine.debugging.sweep import error_vs_h
from engine.vocabulary.config import parse_run

MAIN = str(Path(__file__).resolve().parent.parent / "app" / "main.py")


def _open(page: str, **params: str) -> AppTest:
    app = AppTest.from_file(MAIN, default_timeout=120).run()
    for key in list(app.query_params):
        del app.query_params[key]
    for key, value in params.items():
        app.query_params[key] = value
    return app.switch_page(page).run()


def _errors(app: AppTest) -> str:
    return shown(" ".join(e.value for e in app.error))


def test_the_page_is_in_the_menu_between_compare_and_the_guide():
    assert PAGES.index(COMPARE) < PAGES.index(DEBUG) < PAGES.index(GUIDE) == len(PAGES) - 1
    assert DEBUG.url_path == "debug" and DEBUG.prefix == "debug."


def test_a_link_with_a_bug_opens_with_its_banner_the_tensors_it_touches_and_its_view():
    app = _open(DEBUG.script, hidden="6,5", bug="bias_grad", precision="float32")
    assert not app.exception
    errors = _errors(app)
    assert "Planted bug in run a: bug=bias_grad." in errors
    assert "Wrong (relative error above 1e-2): h1.bias, h2.bias, out.bias." in errors
    assert "weight" not in errors.split("Wrong")[1].split(".")[0]
    table = app.dataframe[0].value
    assert list(table.index) == ["h1.weight", "h2.weight", "out.weight", "h1.bias", "h2.bias", "out.bias"]
    assert set(table.loc[["h1.bias", "h2.bias", "out.bias"], "band"]) == {"wrong"}
    assert set(table.loc[["h1.weight", "h2.weight", "out.weight"], "band"]) == {"right"}
    assert app.session_state[widget_key("precision")] == "float32"
    assert dict(app.query_params) == {"hidden": "6,5", "bug": "bias_grad", "precision": "float32"}
    assert not app.warning


def test_a_healthy_net_checks_right_and_its_link_carries_no_view_key():
    app = _open(DEBUG.script, hidden="6,5")
    assert not app.exception and not app.error
    assert any("Every tensor checks right enough on the fast and autograd path" in s.value for s in app.success)
    assert dict(app.query_params) == {"hidden": "6,5"}


def test_a_bad_view_key_is_named_with_what_is_allowed_and_the_rest_applies():
    app = _open(DEBUG.script, hidden="6,5", check="everything")
    assert not app.exception
    warning = shown(" ".join(w.value for w in app.warning))
    assert "check: got 'everything'" in warning and "gradient or sanity" in warning
    assert app.session_state[widget_key("check")] == "gradient"
    assert app.session_state[f"{DEBUG.prefix}config.hidden"] == "6,5"


def test_the_sanity_view_has_its_link_and_names_a_training_bug():
    app = _open(DEBUG.script, dataset="digits", hidden="32", optimizer="adam", lr="0.01", steps="200",
                bug="softmax_twice")
    app.radio(key=widget_key("check")).set_value("sanity").run()
    assert not app.exception
    assert app.query_params["check"] == "sanity" and app.query_params["bug"] == "softmax_twice"
    errors = _errors(app)
    assert "**Overfit 20 examples**: not near zero" in errors and "loss 1.46" in errors
    assert any("loss floor" in w.value and "softmax" in w.value for w in app.warning)
    assert any(s.value.startswith("**Initial loss**") for s in app.success)  # ln K: it cannot tell


def test_the_training_pages_show_the_banner_while_a_bug_is_on():
    buggy = _open(PLAYGROUND.script, hidden="4", bug="no_zero_grad")
    assert not buggy.exception and "Planted bug in run a: bug=no_zero_grad." in _errors(buggy)
    assert buggy.query_params["bug"] == "no_zero_grad"  # the sidebar keeps it: never dropped silently
    healthy = _open(PLAYGROUND.script, hidden="4")
    assert "Planted bug" not in _errors(healthy)
    compared = _open(COMPARE.script, hidden="4", **{"b.bug": "slope"})
    assert not compared.exception and "Planted bug in run b: bug=slope." in _errors(compared)
    (to_debug,) = [e.proto for e in compared.get("page_link") if e.proto.page == DEBUG.url_path]
    assert dict(parse_qsl(to_debug.query_string)) == {"hidden": "4", "bug": "slope"}  # run b, to check


def test_the_error_chart_plots_each_tensors_error_per_layer_and_zero_on_the_floor():
    table = gradient_check(parse_run({"hidden": "4", "bug": "bias_grad"})).table
    table.loc[table["tensor"] == "h1.weight", "error"] = 0.0  # as a true-zero gradient reads
    figure = tensor_errors_figure(table)
    plotted = {(trace.name, x): y for trace in figure.data for x, y in zip(trace.x, trace.y)}
    out_bias = table.query("path == 'fast' and tensor == 'out.bias'")["error"].item()
    assert plotted[("bias · fast path", "out")] == out_bias
    assert plotted[("weight · autograd path", "h1")] == FLOOR
    assert figure.layout.yaxis.type == "log" and list(figure.layout.xaxis.categoryarray) == ["h1", "out"]


def test_the_error_against_h_chart_shows_one_precision_per_tensor_on_log_axes():
    curves = error_vs_h(parse_run({"hidden": "4"}), steps=(1e-2, 1e-6, 1e-10), entries=2)
    figure = error_vs_h_figure(curves, "float32", 1e-6)
    assert {trace.name for trace in figure.data} == set(curves["tensor"])
    for trace in figure.data:
        expected = curves[(curves["dtype"] == "float32") & (curves["tensor"] == trace.name)].sort_values("h")
        assert list(trace.x) == list(expected["h"])
        assert list(trace.y) == [FLOOR if e == 0 else e for e in expected["error"]]
    assert figure.layout.xaxis.type == "log" and figure.layout.yaxis.type == "log"
    # labels sit where they say, in log10 units on log axes (a raw 1e-6 would land at 10**1e-6, about 1)
    labels = {a.text: a for a in figure.layout.annotations}
    assert labels["the check's h = 1e-06"].x == pytest.approx(-6)
    for low, high, _, words in BANDS:
        assert math.log10(low) < labels[words].y < math.log10(high)
    assert len({round(a.y, 6) for a in figure.layout.annotations if a.text in {w for *_, w in BANDS}}) == len(BANDS)


def test_the_overfit_chart_plots_the_loss_and_leaves_a_gap_where_it_is_not_a_number():
    figure = overfit_figure([(0, 0.7, 0.5), (5, 0.1, 1.0), (10, math.inf, 0.5)], near_zero=0.069)
    assert list(figure.data[0].x) == [0, 5, 10] and list(figure.data[0].y) == [0.7, 0.1, None]
    assert isinstance(pd.Series(figure.data[0].y), pd.Series) and figure.layout.yaxis.type == "log"
    assert figure.layout.annotations[0].y == pytest.approx(math.log10(0.069))  # on the line, in log10 units
