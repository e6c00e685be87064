"""Presets: every file in presets/ loads, every claim holds when the preset runs, bad files are named.

The run test trains each preset at seed 0 (deterministic on CPU; a lottery claim, `over_seeds`, at seeds
0, 1, ...) and checks each claim; a failing claim's message says what it claims and what was observed.
tests/test_preset_seeds.py checks a daily sample of presets at seeds 1-4.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
import yaml

import engine
from engine.lessons.check import check_preset
from engine.lessons.presets import (
    MAX_LESSON,
    OWN_VOCABULARY_PAGES,
    PRESET_DIR,
    TOPICS,
    Claim,
    load_preset,
    load_preset_file,
    preset_ids,
    resolve,
)
from engine.search.presets import SEARCH_PAGE, search_of
from engine.training.history import SCALARS
from engine.training.probes import STATS
from engine.vocabulary.config import ConfigError
from engine.vocabulary.group import parse_group

PRESETS = preset_ids()
FINDINGS_SOURCE = (Path(engine.__file__).parent / "training" / "findings.py").read_text()
# The codes the engine can report; a claim naming another code would hold vacuously with `absent: true`.
FINDING_CODES = {"vanishing_gradients", "exploding_gradients", "dead_units", "saturation", "sigmoid_drift", "diverged",
                 "loss_unstable", "overfitting", "lr_too_high", "lr_too_low", "not_learning"}
METRICS = {metric for _, metric in SCALARS}
FIRST_SIX = ("vanishing-sigmoid", "dying-relu", "xavier-vs-he", "batchnorm-rescue", "dropout-overfitting",
             "optimizer-race")


# ---------------------------------------------------------------- every file loads and makes sense


def test_the_preset_folder_holds_the_core_lessons():
    assert len(PRESETS) >= 16, PRESETS
    missing = [p for p in FIRST_SIX if p not in PRESETS]
    assert not missing, f"missing presets: {missing}"
    covered = {load_preset(p).topic for p in PRESETS}
    assert not set(TOPICS) - covered, f"topics without a preset: {sorted(set(TOPICS) - covered)}"
    others = sorted(p.name for p in PRESET_DIR.iterdir() if p.suffix in (".yml", ".json"))
    assert others in ([], ["previews.json"]), f"presets must be .yaml files: {others}"  # previews: the Gallery's


def test_every_finding_code_is_one_the_engine_reports():
    for code in FINDING_CODES:
        assert f'"{code}"' in FINDINGS_SOURCE, f"engine/training/findings.py no longer reports {code!r}"


@pytest.mark.parametrize("preset_id", PRESETS)
def test_preset_file_loads_and_its_claims_name_real_things(preset_id):
    preset = load_preset(preset_id)  # raises ConfigError naming file and key if anything is off
    assert preset.id == preset_id
    assert preset.topic in TOPICS
    assert len(preset.lesson) <= MAX_LESSON and "\n" not in preset.lesson, preset.lesson
    sentences = [s for s in re.split(r"(?<=[.!?])\s+", preset.story.strip()) if s]
    assert 2 <= len(sentences) <= 5, f"{preset_id}: the story should be 2-5 sentences, got {len(sentences)}"
    if preset.page == SEARCH_PAGE:  # a search, checked by its own vocabulary (tests/test_search_preset.py)
        assert search_of(preset).base.steps <= 3000 and all(claim.methods for claim in preset.claims)
    if preset.page in OWN_VOCABULARY_PAGES:  # its config and claims are its page's (tests/test_words_presets.py)
        return
    group = preset.group()
    assert group.base.steps <= 3000, f"{preset_id}: keep presets cheap ({group.base.steps} steps)"
    runs = dict(zip(group.ids, group.runs))
    for claim in preset.claims:
        if claim.finding is not None:
            assert claim.finding.run in runs, f"{preset_id}: {claim.says!r} names run {claim.finding.run}"
            assert claim.finding.code in FINDING_CODES, f"{preset_id}: unknown finding code {claim.finding.code!r}"
            continue
        for quantity in (claim.value, claim.divided_by):
            if quantity is None:
                continue
            assert quantity.run in runs, f"{preset_id}: {claim.says!r} names run {quantity.run}"
            run = runs[quantity.run]
            if quantity.stat is not None:
                assert quantity.stat in STATS, f"{preset_id}: unknown stat {quantity.stat!r}"
                assert quantity.layer in run.layer_names, f"{preset_id}: run {quantity.run} has no {quantity.layer}"
            else:
                assert quantity.metric in METRICS, f"{preset_id}: unknown metric {quantity.metric!r}"
            if isinstance(quantity.step, int):
                assert quantity.step % run.probe_every == 0 and quantity.step <= run.steps, \
                    f"{preset_id}: step {quantity.step} is not a probe step"


# ---------------------------------------------------------------- every claim holds


@pytest.mark.slow
@pytest.mark.parametrize("preset_id", PRESETS)
def test_preset_claims_hold(preset_id):
    failed = [f"{f.says} -- {f.observed}" for f in check_preset(load_preset(preset_id), [0]).failures[0]]
    assert not failed, f"{preset_id}: claims that do not hold at seed 0:\n  " + "\n  ".join(failed)


def test_a_claim_that_is_false_fails():
    """The checker is not trivially true: the same claim reads opposite tables opposite ways."""
    claim = Claim.model_validate({
        "says": "h1's gradient is below 1% of h2's at step 0.",
        "value": {"stat": "grad_preact_rms", "layer": "h1", "step": 0},
        "divided_by": {"stat": "grad_preact_rms", "layer": "h2", "step": 0},
        "below": 0.01,
    })

    def layers(h1: float, h2: float) -> pd.DataFrame:
        return pd.DataFrame({"run": "a", "step": 0, "layer": ["h1", "h2"], "stat": "grad_preact_rms",
                             "value": [h1, h2]})

    scalars = pd.DataFrame(columns=["run", "step", "split", "metric", "value"])
    assert claim.check(scalars, layers(1e-6, 1.0), [])[0]
    holds, observed = claim.check(scalars, layers(0.5, 1.0), [])
    assert not holds and "0.5" in observed
    absent = Claim.model_validate({"says": "No dead units in run a.", "finding": {"code": "dead_units"},
                                   "absent": True})
    finding = {"run": "a", "code": "dead_units", "layer": "h1", "step": 0, "message": ""}
    assert absent.check(scalars, layers(1, 1), [])[0]
    assert not absent.check(scalars, layers(1, 1), [finding])[0]


# ---------------------------------------------------------------- a file with a typo is named


GOOD = {
    "id": "good-one",
    "title": "A good preset",
    "lesson": "Deep sigmoid nets starve their lower layers of gradient.",
    "topic": "gradients",
    "story": "Watch the gradient chart. It shrinks toward the input. Try relu with he_normal init.",
    "key_chart": "grad_depth",
    "config": {"hidden": "4x8", "activation": "sigmoid", "steps": 20},
    "claims": [{"says": "The engine reports vanishing gradients.",
                "finding": {"run": "a", "code": "vanishing_gradients"}}],
}


def _write(tmp_path: Path, name: str, data: dict | str) -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False))
    return path


def test_a_good_file_in_another_folder_loads(tmp_path):
    preset = load_preset_file(_write(tmp_path, "good-one", GOOD))
    assert preset.group().base.hidden == (8, 8, 8, 8)
    assert load_preset("good-one", directory=tmp_path).title == "A good preset"
    assert preset_ids(tmp_path) == ["good-one"]


def _with(**changes) -> dict:
    data = {**GOOD, "config": dict(GOOD["config"])}
    for key, value in changes.items():
        if key.startswith("config."):
            data["config"][key.removeprefix("config.")] = value
        elif value is None:
            data.pop(key)
        else:
            data[key] = value
    return data


def _bad_config(key: str, value) -> dict:
    data = _with()
    data["config"] = {**data["config"], key: value}
    return data


BAD_FILES = {
    "unknown config key": (_bad_config("activaton", "relu"), "config.activaton"),
    "bad choice": (_bad_config("activation", "sigmod"), "config.activation"),
    "out of bounds": (_bad_config("lr", 100), "config.lr"),
    "not a number": (_bad_config("dropout", "half"), "config.dropout"),
    "bad hidden": (_bad_config("hidden", "8y32"), "config.hidden"),
    "prefixed group key": (_bad_config("b.steps", 10), "config.b.steps"),
    "unknown run prefix": (_bad_config("e.lr", 0.1), "config.e.lr"),
    "missing story": (_with(story=None), "story"),
    "short story": (_with(story="Too short."), "story"),
    "misspelled top-level key": ({**_with(claims=None), "claimz": GOOD["claims"]}, "claimz"),
    "unknown topic": (_with(topic="magic"), "topic"),
    "missing lesson": (_with(lesson=None), "lesson"),
    "long lesson": (_with(lesson="A lesson that goes on and on " * 5 + "."), "lesson"),
    "two-sentence lesson": (_with(lesson="Sigmoids saturate. Gradients vanish."), "lesson"),
    "lesson without a full stop": (_with(lesson="Deep sigmoid nets starve their lower layers"), "lesson"),
    "no claims": (_with(claims=[]), "claims"),
    "claim with a typo": (_with(claims=[{"says": "The loss ends below 0.5 here.",
                                         "value": {"metric": "loss"}, "blow": 0.5}]), "claims.0.blow"),
    "claim without a bound": (_with(claims=[{"says": "The loss ends below 0.5 here.",
                                             "value": {"metric": "loss"}}]), "claims.0"),
    "invalid yaml": ("id: good-one\nconfig: {hidden: [8, 8\n", "(file)"),
    "not a mapping": ("- just\n- a list\n", "(file)"),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_a_bad_preset_file_names_the_file_and_the_key(tmp_path, case):
    data, key = BAD_FILES[case]
    path = _write(tmp_path, "good-one", data)
    with pytest.raises(ConfigError) as caught:
        load_preset_file(path)
    text = str(caught.value)
    assert str(path) in text, text
    assert key in [p.key for p in caught.value.problems], text
    assert f"{key}:" in text, text


def test_an_id_that_differs_from_the_file_name_is_named(tmp_path):
    path = _write(tmp_path, "other-name", GOOD)
    with pytest.raises(ConfigError) as caught:
        load_preset_file(path)
    assert str(path) in str(caught.value)
    assert [p.key for p in caught.value.problems] == ["id"]
    assert "other-name" in str(caught.value)


def test_a_missing_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError) as caught:
        load_preset_file(tmp_path / "nowhere.yaml")
    assert "nowhere.yaml" in str(caught.value)


# ---------------------------------------------------------------- preset=ID, then explicit keys


def test_explicit_keys_override_the_preset():
    preset = load_preset("vanishing-sigmoid")
    merged = resolve({"preset": "vanishing-sigmoid", "lr": "0.5", "b.activation": "tanh"})
    group = parse_group(merged)
    assert group.base.lr == 0.5 != parse_group(preset.config).base.lr
    assert group.runs[1].activation == "tanh"
    assert group.runs[1].lr == 0.5  # run b inherits a's keys, including the override
    # Everything not overridden comes from the preset.
    assert group.base.hidden == parse_group(preset.config).base.hidden
    assert group.base.activation == "sigmoid"
    assert group.labels == parse_group(preset.config).labels


def test_an_unknown_preset_is_a_config_error_naming_preset():
    with pytest.raises(ConfigError) as caught:
        resolve({"preset": "no-such-lesson", "lr": "0.5"})
    assert [p.key for p in caught.value.problems] == ["preset"]
    assert "no-such-lesson" in str(caught.value)
    assert "vanishing-sigmoid" in str(caught.value)  # the message lists what is allowed


@pytest.mark.parametrize("preset_id", ["../presets/vanishing-sigmoid", "/etc/passwd", "VANISHING-SIGMOID",
                                       "vanishing-sigmoid.yaml", ""])
def test_a_preset_id_from_a_link_is_never_a_path(preset_id):
    with pytest.raises(ConfigError) as caught:
        resolve({"preset": preset_id})
    assert [p.key for p in caught.value.problems] == ["preset"]
