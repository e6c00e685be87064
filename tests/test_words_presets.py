"""The Word vectors presets (page: words): each loads through the presets machinery with its own vocabulary,
tells a 2-5 sentence story, and its claims hold at seed 0 (`python -m engine presets --check` runs seeds 0-4);
a bad one is refused naming the file and key."""

from __future__ import annotations

import re

import pytest
import yaml

from engine.lessons.check import check_preset
from engine.lessons.presets import PRESET_DIR, all_presets, load_preset, load_preset_file
from engine.vocabulary.config import ConfigError
from engine.words.charts import WORDS_CHARTS
from engine.words.presets import WORDS_TOPIC

WORDS_PRESETS = sorted(p.id for p in all_presets(every_page=True) if p.page == "words")


def test_there_are_the_four_lessons_of_the_issue_and_only_the_training_pages_see_nets():
    assert WORDS_PRESETS == ["words-few-negatives", "words-lr-too-large", "words-real-text", "words-skipgram-vs-cbow"]
    assert not {p.id for p in all_presets()} & set(WORDS_PRESETS)  # all_presets(): presets of net groups


@pytest.mark.parametrize("preset_id", WORDS_PRESETS)
def test_each_preset_tells_a_short_story_and_its_claims_hold_at_seed_0(preset_id):
    preset = load_preset(preset_id)
    assert preset.topic == WORDS_TOPIC and preset.key_chart in WORDS_CHARTS
    sentences = [s for s in re.split(r"(?<=[.!?])\s+", preset.story.strip()) if s]
    assert 2 <= len(sentences) <= 5, len(sentences)
    check = check_preset(preset, [0])
    failed = [f"{f.says} -- {f.observed}" for f in check.failures[0]]
    assert not failed, failed


@pytest.mark.parametrize(("change", "expected"), [
    ({"key_chart": "loss"}, "'loss' is none of the charts of its page: words_map"),
    ({"card": "loss"}, "card 'loss' is not plotted by 'words_analogies'"),
    ({"config": {"b.corpus": "lee", "dim": 0}}, "config.b.corpus"),
    ({"claims": [{"says": "A layer claim here.", "value": {"stat": "dead_frac", "layer": "h1"}, "above": 0}]},
     "claims.0.value"),
    ({"claims": [{"says": "Loss on the wrong split.", "value": {"metric": "loss", "split": "val"}, "above": 0}]},
     "metric loss or lr with split train"),
])
def test_a_bad_words_preset_is_refused_naming_the_key(tmp_path, change, expected):
    data = yaml.safe_load((PRESET_DIR / "words-skipgram-vs-cbow.yaml").read_text()) | change
    path = tmp_path / "words-skipgram-vs-cbow.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError) as error:
        load_preset_file(path)
    assert expected in str(error.value) and str(path) in str(error.value)


def test_a_words_preset_on_a_net_page_or_run_is_refused_by_name(capsys):
    from streamlit.testing.v1 import AppTest

    from app.pages import PLAYGROUND
    from engine.cli import main
    from tests.test_words_page import MAIN

    assert main(["run", "--preset", "words-real-text"]) == 2
    assert "preset: got 'words-real-text': a Word vectors preset" in capsys.readouterr().err
    app = AppTest.from_file(MAIN, default_timeout=60).run()
    app.query_params["preset"] = "words-real-text"
    app.switch_page(PLAYGROUND.script).run()
    assert not app.exception
    assert any("a Word vectors preset" in w.value for w in app.warning)
    assert not any(load_preset("words-real-text").title in m.value for m in app.markdown)
