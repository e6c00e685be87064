"""The Word vectors page (AppTest), its charts and its Gallery cards: a preset link restores its setup and its
story, a bad link is named key by key, training live fills every chart, the example view adds up, the
address bar follows the widgets."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import pytest
from streamlit.testing.v1 import AppTest

from app import gallery
from app.charts.words import (
    analogy_figure,
    example_figure,
    hist_figure,
    loss_figure,
    map_figure,
    vector_figure,
    words_card_figure,
)
from app.pages import GALLERY, WORDS
from app.plain_text import shown
from engine.lessons.presets import all_presets, load_preset
from engine.lessons.previews import read_previews
from engine.words.api import train_words
from engine.words.config import parse_words
from engine.words.explain import draw_negatives, explain, first_examples
from engine.words.live import LiveWords
from engine.words.presets import WORDS_TOPIC
from tests.test_gallery import _cards

MAIN = str(Path(__file__).resolve().parent.parent / "app" / "main.py")
W = WORDS.prefix
PRESET = "words-skipgram-vs-cbow"


@pytest.fixture(autouse=True)
def _no_runs_left():
    yield
    LiveWords.stop_all()


def _open(params: dict[str, str]) -> AppTest:
    app = AppTest.from_file(MAIN, default_timeout=60).run()
    for key in list(app.query_params):
        del app.query_params[key]
    for key, value in params.items():
        app.query_params[key] = value
    return app.switch_page(WORDS.script).run()


def _wait_done(group, timeout: float = 120) -> None:  # the run's own nice-10 process, on busy cores
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        live = LiveWords.find(group)
        if live is not None and live.view.state == "done":
            return
        time.sleep(0.2)
    raise AssertionError("the run did not finish")


def test_a_preset_link_restores_its_runs_and_story():
    app = _open({"preset": PRESET})
    assert not app.exception and not app.warning
    preset = load_preset(PRESET)
    assert any(preset.title in m.value for m in app.markdown)
    assert app.session_state[f"{W}a.config.model"] == "skipgram" and app.session_state[f"{W}second_run"] is True
    assert app.session_state[f"{W}b.config.model"] == "cbow"
    assert dict(app.query_params) == {"preset": PRESET}
    (stored,) = [json.loads(c.proto.spec) for c in app.get("plotly_chart")]  # before Train: the stored run
    assert stored["layout"]["meta"]["quantity"] == preset.card_quantity == "analogy_accuracy"
    assert stored["data"][0]["y"][-1] == read_previews()[PRESET]["runs"][0]["analogy_accuracy"][-1][1]
    app.number_input(key=f"{W}a.config.window").set_value(3).run()
    assert dict(app.query_params) == {"preset": PRESET, "window": "3"}  # the preset, then what changed
    app.number_input(key=f"{W}b.config.negatives").set_value(2).run()  # run b's own widget
    assert dict(app.query_params) == {"preset": PRESET, "window": "3", "b.negatives": "2"}


def test_a_bad_link_names_each_key_and_keeps_the_rest():
    app = _open({"dim": "999", "model": "glove", "negatives": "7", "colour": "red", "preset": "zeros-init"})
    assert not app.exception
    text = shown(" ".join(w.value for w in app.warning))
    for expected in ("dim: got '999'", "2 to 300", "model: got 'glove'", "skipgram, cbow", "colour",
                     "not a Word vectors preset"):
        assert expected in text, expected
    assert app.session_state[f"{W}a.config.negatives"] == 7
    assert app.session_state[f"{W}a.config.dim"] == 30


def test_training_live_fills_every_chart_and_the_example_view():
    app = _open({"tokens": "4000", "epochs": "2", "b.model": "cbow"})
    group = parse_words({"tokens": "4000", "epochs": "2", "b.model": "cbow", "b.label": "b"})
    app.button(key=f"{W}train").click().run()
    _wait_done(group)
    app.run()  # the fragment's timer never fires in AppTest: the page run draws the latest view
    assert not app.exception
    heads = [s.value for s in app.subheader]
    for title in ("Analogy accuracy over time", "Loss over time", "Map of the vocabulary", "Nearest neighbours",
                  "One training example, step by step"):
        assert title in heads, title
    specs = [json.dumps(json.loads(c.proto.spec)["layout"].get("yaxis", {})) for c in app.get("plotly_chart")]
    assert any("share answered right" in s for s in specs) and any("loss per example" in s for s in specs)
    maps = [json.loads(c.proto.spec) for c in app.get("plotly_chart")
            if "PC 1 and 2" in str(json.loads(c.proto.spec)["layout"].get("xaxis", {}))]
    assert len(maps) == 2 and len(maps[0]["layout"]["annotations"]) == 6  # man -> woman beside king -> queen ...
    table = next(d for d in app.dataframe if "push" in d.value.columns).value
    assert len(table) == 1 + group.base.negatives and table.iloc[0]["role"] == "to predict"
    live = LiveWords.find(group)
    assert live.view.step == live.view.total_steps and "done" in app.get("progress")[0].proto.text


def test_the_example_view_is_one_sgd_step_of_the_training_rule():
    """What the example shows happening is what training does to the same example."""
    result = train_words({"tokens": "2000", "epochs": "1"})
    trainer = result.trainer
    example = first_examples(trainer, "skipgram", 5)[3]
    model = trainer.models["a"]
    negatives = draw_negatives(trainer.vocab.noise_distribution().numpy(), 5, 3)
    w_in, w_out = model.w_in.numpy().astype(np.float64), model.w_out.numpy().astype(np.float64)
    explained = explain(w_in, w_out, trainer.vocab.words, example, negatives, 0.5)
    target_row = explained.rows[0]
    assert target_row["coefficient"] < 0 and "pulled up" in target_row["push"]
    assert target_row["logit_after"] > target_row["logit"]
    assert all(r["logit_after"] < r["logit"] for r in explained.rows[1:] if "pushed down" in r["push"])


def test_the_charts_are_valid_plotly_and_show_what_they_name():
    result = train_words({"tokens": "3000", "epochs": "1", "b.model": "cbow"})
    labels = {"a": "skip-gram", "b": "CBOW"}
    analogy = analogy_figure(result.scalars, labels, result.trainer.total_steps)
    go.Figure(analogy.to_dict())
    assert analogy.layout.yaxis.range == (-0.02, 1.02)
    finals = [t for t in analogy.data if t.name.endswith(": all")]
    assert [t.y[-1] for t in finals] == [result.trainer.latest(r, "analogy_accuracy") for r in "ab"]
    go.Figure(loss_figure(result.scalars, labels, result.trainer.total_steps).to_dict())
    hists = hist_figure(result.hists, labels)
    go.Figure(hists.to_dict())
    assert len(hists.data) == 3 * 2
    coords = np.array([[0, 0], [1, 0], [0, 1], [1, 1.0]])
    figure = map_figure(coords, ["man", "woman", "king", "queen"], np.array([4, 3, 2, 1]),
                        [("man", "woman"), ("king", "queen"), ("x", "y")], "a", 0.5)
    go.Figure(figure.to_dict())
    assert [(a.ax, a.ay, a.x, a.y) for a in figure.layout.annotations] == [(0, 0, 1, 0), (0, 1, 1, 1)]
    go.Figure(example_figure([{"word": "w", "role": "to predict", "logit": 0.1, "logit_after": 0.3}]).to_dict())
    vector = vector_figure(np.array([0.1, -0.2]), np.array([0.15, -0.1]), "king")
    go.Figure(vector.to_dict())
    assert list(vector.data[1].y) == [0.15, -0.1] and list(vector.data[0].x) == [1, 2]
    # Plotly.js 3 draws no axis title given as a bare string, and make_figure skips Plotly's conversion
    for drawn in (analogy, hists, figure, vector):
        titles = [value["title"] for key, value in drawn.to_plotly_json()["layout"].items()
                  if key.startswith(("xaxis", "yaxis")) and "title" in value]
        assert titles and all(isinstance(title, dict) and "text" in title for title in titles)
    assert analogy.to_plotly_json()["layout"]["xaxis"]["title"] == {"text": "step"}
    assert figure.to_plotly_json()["layout"]["xaxis"]["title"]["text"] == "PC 1 and 2 show 50% of the spread"


def test_the_gallery_shows_the_word_vector_cards_and_opens_them_on_the_page():
    words = [p for p in all_presets(every_page=True) if p.page == "words"]
    assert {p.topic for p in words} == {WORDS_TOPIC} and len(words) == 4
    app = AppTest.from_file(MAIN, default_timeout=60).run()
    app.switch_page(GALLERY.script).run()
    assert not app.exception
    assert gallery.TOPIC_TITLES[WORDS_TOPIC] in [s.value for s in app.subheader]
    previews = read_previews()
    for preset in words:
        figure = words_card_figure(previews[preset.id], preset.card_quantity)
        go.Figure(figure.to_dict())
        assert [t.y[-1] for t in figure.data] == [run[preset.card_quantity][-1][1]
                                                   for run in previews[preset.id]["runs"]]
    cards = _cards(app)
    for preset in words:
        card = cards[preset.id]
        assert card["topic"] == gallery.TOPIC_TITLES[WORDS_TOPIC] and card["link"].page == WORDS.url_path
        assert card["query"] == {"preset": preset.id} and len(card["charts"]) == 1
        assert json.loads(card["charts"][0].spec)["layout"]["meta"]["quantity"] == preset.card_quantity
        runs = len(parse_words(preset.config).runs)
        assert any(text.startswith("one run" if runs == 1 else f"{runs} runs compared") for text in card["texts"])


def test_training_other_settings_stops_the_sessions_previous_run():
    app = _open({"tokens": "200000", "epochs": "50"})  # minutes of training: still running when replaced
    first = parse_words({"tokens": "200000", "epochs": "50"})
    app.button(key=f"{W}train").click().run()
    assert LiveWords.find(first) is not None
    app.number_input(key=f"{W}a.config.tokens").set_value(3000).run()
    app.button(key=f"{W}train").click().run()
    assert not app.exception
    assert LiveWords.find(first) is None  # stopped and dropped
    assert LiveWords.find(parse_words({"tokens": "3000", "epochs": "50"})) is not None


def test_leaving_the_presets_runs_drops_its_story_and_the_link_says_so():
    app = _open({"preset": PRESET})
    assert any(load_preset(PRESET).title in m.value for m in app.markdown)
    app.checkbox(key=f"{W}second_run").uncheck().run()  # the preset compares two runs; now there is one
    assert not app.exception
    assert "preset" not in dict(app.query_params) and dict(app.query_params)["label"] == "skip-gram"
    app.run()
    assert not any(load_preset(PRESET).title in m.value for m in app.markdown)
