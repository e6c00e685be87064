"""The Compare page: two to four runs in lock-step, in one link (AppTest), and the engine's promises
that make a comparison fair: the same batches, the same starting weights, one run's end not ending
the others."""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import parse_qsl

import pandas as pd
import pytest
import torch
from streamlit.testing.v1 import AppTest

import engine
from app.help_texts import HOW_TO_READ
from app.pages import COMPARE, PLAYGROUND
from app.plain_text import shown
from app.playground import CONFIG
from engine.training.trainer import GroupTrainer
from engine.vocabulary.config import RunConfig
from engine.vocabulary.group import differences, parse_group

MAIN = str(Path(__file__).resolve().parent.parent / "app" / "main.py")
C = COMPARE.prefix  # of every key of the Compare page's state
LINK = {"hidden": "8x32", "activation": "sigmoid", "b.activation": "tanh", "b.label": "tanh",
        "c.activation": "relu", "c.init": "he_normal", "c.label": "ReLU + He"}


def _open(page: str, params: dict[str, str]) -> AppTest:
    """Open `page` with a link, as a browser does: a first run, then the page with its address."""
    app = AppTest.from_file(MAIN, default_timeout=60).run()
    _navigate(app, page, params)
    return app


def _navigate(app: AppTest, page: str, params: dict[str, str] | None = None) -> AppTest:
    for key in list(app.query_params):  # the menu clears the address bar; a link brings its own
        del app.query_params[key]
    for key, value in (params or {}).items():
        app.query_params[key] = value
    return app.switch_page(page).run()


def _warnings(app: AppTest) -> str:
    return shown(" ".join(w.value for w in app.warning))  # as the reader sees them


def _wait_until_ended(job_id: str, timeout: float = 90) -> None:
    from app.runtime import get_runner

    runner = get_runner()
    deadline = time.monotonic() + timeout
    while runner.job(job_id).status in ("queued", "running") and time.monotonic() < deadline:
        time.sleep(0.2)
    assert runner.job(job_id).status not in ("queued", "running")


# ------------------------------------------------------------------------------------ the link


def test_a_comparison_link_restores_every_run_exactly_and_stays_minimal():
    app = _open(COMPARE.script, LINK)
    assert not app.exception
    assert not app.warning
    state = app.session_state
    assert state[f"{C}runs"] == ["b", "c"]
    assert state[f"{C}a.config.hidden"] == "8x32" and state[f"{C}a.config.activation"] == "sigmoid"
    assert state[f"{C}b.keys"] == ["activation"] and state[f"{C}b.config.activation"] == "tanh"
    assert state[f"{C}c.keys"] == ["activation", "init"]
    assert state[f"{C}c.config.init"] == "he_normal" and state[f"{C}c.label"] == "ReLU + He"
    assert dict(app.query_params) == LINK  # what the page writes back is the link it was opened with


def test_the_keys_that_differ_are_listed_above_the_charts():
    app = _open(COMPARE.script, LINK)
    table = app.dataframe[0].value
    assert list(table.index) == ["activation", "init"]
    assert list(table.columns) == ["a", "b: tanh", "c: ReLU + He"]
    assert list(table.loc["activation"]) == ["sigmoid", "tanh", "relu"]
    assert list(table.loc["init"]) == ["default", "default", "he_normal"]


def test_bad_variant_keys_are_named_with_their_prefix_and_the_rest_applies():
    app = _open(COMPARE.script, {**LINK, "c.lr": "abc", "b.colour": "red", "d.batch_size": "64", "e.lr": "0.1",
                                 "b.hidden": "100000x100000"})
    assert not app.exception
    warnings = _warnings(app)
    for key, value in (("c.lr", "abc"), ("b.colour", "red"), ("d.batch_size", "64"), ("e.lr", "0.1"),
                       ("b.hidden", "100000x100000")):
        assert key in warnings and value in warnings, (key, warnings)
    assert "allowed" in warnings
    assert "set batch_size without a prefix" in warnings
    assert app.session_state[f"{C}c.config.activation"] == "relu"  # the rest of run c applies
    assert app.session_state[f"{C}runs"] == ["b", "c"]  # d had nothing but a bad key
    assert dict(app.query_params) == LINK


def test_a_one_run_link_opens_with_a_copy_of_run_a_to_change():
    app = _open(COMPARE.script, {"hidden": "4x8"})
    assert app.session_state[f"{C}runs"] == ["b"]
    assert "identical" in " ".join(i.value for i in app.info)
    assert dict(app.query_params) == {"hidden": "4x8", "b.label": "b"}


def test_a_new_run_starts_as_a_copy_and_a_chosen_key_starts_at_run_a_value():
    app = _open(COMPARE.script, {"hidden": "4x8", "lr": "0.2", "b.activation": "relu"})
    app.button(key=f"{C}add").click().run()
    assert app.session_state[f"{C}runs"] == ["b", "c"]
    assert app.query_params["c.label"] == "c"  # identical to a so far
    app.multiselect(key=f"{C}c.keys").select("lr").run()
    assert app.number_input(key=f"{C}c.config.lr").value == 0.2  # run a's value
    app.number_input(key=f"{C}c.config.lr").set_value(0.05).run()
    assert app.query_params["c.lr"] == "0.05"
    assert list(app.dataframe[0].value.index) == ["activation", "lr"]
    app.button(key=f"{C}b.remove").click().run()
    assert app.session_state[f"{C}runs"] == ["c"]
    assert "b.activation" not in app.query_params


def test_a_run_that_trains_like_another_says_so_naming_both():
    app = _open(COMPARE.script, {"hidden": "4x8", "b.activation": "relu"})
    assert "identical to" not in " ".join(i.value for i in app.info)
    app.button(key=f"{C}add").click().run()  # run c: a copy of run a
    notes = " ".join(i.value for i in app.info)
    assert "Run c is identical to run a" in notes and "Run b" not in notes
    app.multiselect(key=f"{C}c.keys").select("leak").run()  # tanh: the leak slope changes nothing
    app.number_input(key=f"{C}c.config.leak").set_value(0.3).run()
    notes = " ".join(i.value for i in app.info)
    assert "Run c trains exactly like run a: it differs only in leak" in notes
    assert "leak has no effect on this run" in " ".join(c.value for c in app.caption)
    app.multiselect(key=f"{C}c.keys").select("activation").run()
    app.selectbox(key=f"{C}c.config.activation").set_value("relu").run()
    notes = " ".join(i.value for i in app.info)
    assert "Run c trains exactly like run b: it differs only in leak" in notes  # relu ignores leak too
    app.selectbox(key=f"{C}c.config.activation").set_value("leaky_relu").run()
    assert "Run c" not in " ".join(i.value for i in app.info)
    assert not app.exception


def test_the_twin_note_names_the_first_run_it_trains_like_and_the_keys_without_effect():
    from app.variants import twin_note

    relu = RunConfig(activation="relu")
    earlier = {"a": RunConfig(), "b": relu}
    assert twin_note("c", relu.model_copy(update={"leak": 0.3, "momentum": 0.5}), earlier) == (
        "Run c trains exactly like run b: it differs only in leak, momentum, which have no effect on either.")
    assert twin_note("c", RunConfig(), earlier) == "Run c is identical to run a: choose a key it changes."
    assert twin_note("c", RunConfig(activation="leaky_relu", leak=0.3), earlier) is None
    assert twin_note("c", RunConfig(), {"a": None}) is None  # run a does not parse yet


def test_compare_with_opens_the_playground_setup_as_run_a_and_each_page_keeps_its_own():
    app = AppTest.from_file(MAIN, default_timeout=60)
    app.query_params["hidden"] = "4x8"
    app.query_params["activation"] = "relu"
    app.run()
    next(b for b in app.button if b.label.startswith("Compare with")).click().run()
    assert not app.exception
    assert app.title[0].value == COMPARE.title
    assert app.session_state[f"{C}a.config.hidden"] == "4x8"
    assert app.session_state[f"{C}a.config.activation"] == "relu"
    assert app.session_state[f"{C}runs"] == ["b"]
    app.multiselect(key=f"{C}b.keys").select("init").run()
    _navigate(app, PLAYGROUND.script)  # through the menu: the Playground is as it was left
    assert app.title[0].value == PLAYGROUND.title
    assert app.session_state[f"{CONFIG}hidden"] == "4x8" and app.session_state[f"{CONFIG}activation"] == "relu"
    _navigate(app, COMPARE.script)  # and so is the Compare page
    assert app.session_state[f"{C}b.keys"] == ["init"]
    assert app.query_params["b.label"] == "b"  # init chosen, still at run a's value: b is a copy


# -------------------------------------------------------------------------------- training


def test_train_runs_the_group_and_every_run_has_its_column():
    app = _open(COMPARE.script, {"hidden": "3x8", "steps": "200", "probe_every": "5", "b.activation": "relu",
                                 "c.activation": "sigmoid", "c.label": "sig"})
    app.button(key=f"{C}train").click().run()
    assert not app.exception
    job_id = app.session_state[f"{C}job_id"]
    _wait_until_ended(job_id)
    app.run()  # a fragment's timer never fires in AppTest: rerun the page
    assert not app.exception
    # the nets at a glance, loss, gradients (2), backprop as a product, saturation, weights, histograms + a boundary
    # per run
    assert len(app.get("plotly_chart")) == 8 + 3
    assert any("step 200 / 200" in str(p.proto) for p in app.get("progress"))
    text = " ".join(c.value for c in app.caption)
    assert text.count("finished, 200 steps") == 3
    captions = [c.value for c in app.caption]  # every chart drawn shows its caption
    drawn = [c.proto.id.rsplit("-chart-", 1)[1] for c in app.get("plotly_chart")]  # chart(figure, name)'s key
    assert [name for name in drawn if name not in HOW_TO_READ] == ["output-a", "output-b", "output-c"]
    for name in [*(name for name in drawn if name in HOW_TO_READ), "boundary"]:  # spiral: boundaries
        assert HOW_TO_READ[name] in captions, name
    from app import charts
    from app.runtime import get_runner

    scalars = get_runner().tables(job_id).scalars
    assert sorted(scalars["run"].unique()) == ["a", "b", "c"]  # the downloads hold every run
    # the words above the backprop and weights charts: text the browser wraps, one line per run, from the tables
    job = get_runner().job(job_id)
    layers, labels = job.tables().layers, dict(zip(job.ids, job.labels))
    activations = {run: config.activation for run, config in zip(job.ids, job.group.runs)}
    penalties = {run: (config.l1, config.weight_decay) for run, config in zip(job.ids, job.group.runs)}
    shown_lines = [shown(m.value).split("  \n") for m in app.markdown]
    for words in (charts.backprop_words(layers, labels=labels, activations=activations),
                  charts.weight_words(layers, labels=labels, penalties=penalties)):
        assert len(words) == 3 and words[2].startswith("sig · ")
        assert words in shown_lines


def test_a_diverging_run_says_so_in_its_column_and_the_others_finish():
    app = _open(COMPARE.script, {"dataset": "sine", "lr": "10", "b.lr": "0.01", "steps": "300"})
    app.button(key=f"{C}train").click().run()
    _wait_until_ended(app.session_state[f"{C}job_id"])
    app.run()
    assert not app.exception
    errors = " ".join(e.value for e in app.error)
    assert "diverged at step" in errors and "the other runs go on" in errors
    assert "finished, 300 steps" in " ".join(c.value for c in app.caption)


# ------------------------------------------------------------------------ the engine's promises


def test_identical_runs_give_identical_numbers_in_a_mixed_group():
    """A twin of run a (same config, another label) sees the same batches from the same weights, even in
    a group whose runs have other shapes: every number matches, bit for bit."""
    result = engine.train({"hidden": "16,16", "steps": "60", "b.label": "twin", "c.hidden": "8",
                           "d.activation": "relu"})
    for name in ("scalars", "layers"):
        table = getattr(result, name)
        a = table[table["run"] == "a"].drop(columns="run").reset_index(drop=True)
        b = table[table["run"] == "b"].drop(columns="run").reset_index(drop=True)
        pd.testing.assert_frame_equal(a, b)


def test_same_shape_same_init_start_equal_and_another_init_does_not():
    trainer = GroupTrainer(parse_group({"hidden": "8,8", "b.activation": "relu", "c.lr": "0.5",
                                        "d.init": "he_normal"}))
    first = [trainer.state_dict(k) for k in range(4)]
    for k in (1, 2):
        assert all(torch.equal(first[0][name], first[k][name]) for name in first[0])
    assert not torch.equal(first[0]["h1.weight"], first[3]["h1.weight"])


def test_runs_see_the_same_batch_order_whatever_they_change():
    """Learning rate 0 freezes a net, so its training loss per step is a function of the batch alone:
    two frozen runs of different activations see the same batches exactly when their losses move in
    step with a third frozen twin."""
    result = engine.train({"hidden": "8", "lr": "1e-6", "steps": "40", "probe_every": "1",
                           "b.label": "twin", "c.optimizer": "adam", "c.lr": "0.01"})
    loss = result.scalars[(result.scalars["metric"] == "loss") & (result.scalars["split"] == "train")]
    a, b = (loss[loss["run"] == r]["value"].to_numpy() for r in "ab")
    assert (a == b).all()


@pytest.mark.parametrize("changed", [{"activation": "relu"}, {"init": "he_normal", "lr": "0.3"}])
def test_differences_name_exactly_the_changed_keys(changed):
    mapping = {"hidden": "4x8", **{f"b.{k}": v for k, v in changed.items()}}
    diff = differences(parse_group(mapping))
    assert sorted(diff) == sorted(changed)
    for key, value in changed.items():
        assert diff[key][1] == value and diff[key][0] == str(getattr(RunConfig(), key))


def test_a_comparison_link_on_the_playground_offers_the_compare_page():
    app = AppTest.from_file(MAIN, default_timeout=60)
    for key, value in LINK.items():
        app.query_params[key] = value
    app.run()
    assert not app.exception
    assert "compares 3 runs" in _warnings(app)
    assert app.session_state[f"{CONFIG}activation"] == "sigmoid"  # run a
    link = next(e.proto for e in app.get("page_link") if e.proto.label.startswith("Open the comparison"))
    assert link.page == COMPARE.url_path
    assert dict(parse_qsl(link.query_string)) == LINK
