"""Run prefixes (b., c., d.) and labels: keys all runs share cannot be set per run, unknown prefixes and bad
labels are refused, and the lenient parser keeps every good key beside a bad one."""

from __future__ import annotations

import pytest

from engine.vocabulary.config import GROUP_KEYS, ConfigError
from engine.vocabulary.group import parse_group, parse_group_lenient, render_group
from tests.config_strategies import DEFAULT


@pytest.mark.parametrize("key", GROUP_KEYS)
def test_group_keys_cannot_be_overridden_per_run(key):
    value = DEFAULT.model_dump()[key]
    with pytest.raises(ConfigError) as info:
        parse_group({f"b.{key}": value, "b.activation": "relu"})
    (problem,) = info.value.problems
    assert problem.key == f"b.{key}"
    assert "shared" in problem.message and key in problem.allowed


@pytest.mark.parametrize("key", ["e.lr", "x.activation", "B.lr", "z.label", "ab.lr"])
def test_unknown_prefix_is_refused(key):
    with pytest.raises(ConfigError) as info:
        parse_group({key: "0.1"})
    (problem,) = info.value.problems
    assert problem.key == key and "prefix" in problem.message
    assert key in str(info.value)


def test_labels():
    group = parse_group({"label": "baseline", "b.activation": "relu", "b.label": " relu ", "c.label": "same"})
    assert group.labels == ("baseline", "relu", "same")
    assert group.runs[2] == group.base
    assert group.runs[1].activation == "relu"
    assert parse_group({"b.label": "twin"}).runs == (DEFAULT, DEFAULT)
    rendered = render_group(group)
    assert rendered["label"] == "baseline" and rendered["c.label"] == "same"
    assert parse_group(rendered) == group


@pytest.mark.parametrize("label", ["", "   ", "x" * 41, "two\nlines", "tab\there", "é" * 21, "🙂" * 11])
@pytest.mark.parametrize("run_id", ["a", "b"])
def test_bad_labels_are_refused(run_id, label):
    key = "label" if run_id == "a" else f"{run_id}.label"
    with pytest.raises(ConfigError) as info:
        parse_group({key: label})
    (problem,) = info.value.problems
    assert problem.key in (key, f"{run_id}.label")


def test_lenient_keeps_good_keys_beside_a_bad_label():
    group, problems = parse_group_lenient({"label": "x" * 100, "lr": "0.5", "activation": "relu"})
    assert (group.base.lr, group.base.activation) == (0.5, "relu")
    assert group.labels == ("a",)
    assert len(problems) == 1 and problems[0].key in ("label", "a.label")


def test_lenient_keeps_good_keys_beside_a_long_unknown_prefix():
    long_key = "x" * 100 + ".lr"
    group, problems = parse_group_lenient({long_key: "1", "lr": "0.5"})
    assert group.base.lr == 0.5
    assert len(problems) == 1


def test_lenient_keeps_run_a_hidden_when_only_run_b_is_too_big():
    group, problems = parse_group_lenient({"dataset": "digits", "hidden": "8x16", "b.hidden": "10x1024"})
    assert [p.key for p in problems] == ["b.hidden"]
    assert group.base.hidden == (16,) * 8


def test_lenient_applies_good_keys_and_reports_bad_ones():
    group, problems = parse_group_lenient({
        "activation": "relu", "lr": "nope", "b.init": "he_normal", "b.dropout": "5", "e.lr": "1", "bogus": "1",
        "preset": "ignored-page-key",
    })
    assert group.base.activation == "relu" and group.base.lr == DEFAULT.lr
    assert group.runs[1].init == "he_normal" and group.runs[1].dropout == DEFAULT.dropout
    assert sorted(p.key for p in problems) == ["b.dropout", "bogus", "e.lr", "lr"]
