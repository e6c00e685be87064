"""Bad config values give clear problems: each names its key, the value and what is allowed, once per bad
key, also for values that cannot be printed or are not finite."""

from __future__ import annotations

import math
from typing import get_args

import pytest

from engine.vocabulary.config import ConfigError, RunConfig, parse_run
from engine.vocabulary.group import parse_group, parse_group_lenient

ACTIVATIONS = get_args(RunConfig.model_fields["activation"].annotation)


def test_error_names_key_value_and_allowed():
    with pytest.raises(ConfigError) as info:
        parse_run({"activation": "nope"})
    (problem,) = info.value.problems
    assert problem.key == "activation"
    assert problem.value == "'nope'"
    for name in ACTIVATIONS:
        assert name in problem.allowed
    text = str(info.value)
    assert "activation" in text and "'nope'" in text and ", ".join(ACTIVATIONS) in text


@pytest.mark.parametrize(("key", "value", "allowed"), [
    ("lr", "-1", "a number from 1e-06 to 10"),
    ("samples", "10", "a whole number from 50 to 50,000"),
    ("standardize", "maybe", "true or false"),
    ("dropout", "0.95", "a number from 0 to 0.9"),
    ("seed", "-1", "a whole number from 0 to 2,147,483,647"),
])
def test_numeric_and_bool_messages(key, value, allowed):
    with pytest.raises(ConfigError) as info:
        parse_run({key: value})
    (problem,) = info.value.problems
    assert (problem.key, problem.value, problem.allowed) == (key, repr(value), allowed)
    assert key in str(info.value) and repr(value) in str(info.value) and allowed in str(info.value)


@pytest.mark.parametrize("text", ["nan", "NaN", "inf", "-inf", "+inf", "Infinity", "1e999", "-1e999"])
@pytest.mark.parametrize("key", ["lr", "noise", "init_gain", "samples", "seed"])
def test_non_finite_numbers_are_refused(key, text):
    with pytest.raises(ConfigError) as info:
        parse_run({key: text})
    assert [p.key for p in info.value.problems] == [key]


def test_unknown_key():
    with pytest.raises(ConfigError) as info:
        parse_group({"learning_rate": "0.1"})
    (problem,) = info.value.problems
    assert problem.key == "learning_rate" and problem.message == "unknown key"
    assert "lr" in problem.allowed


def test_three_bad_keys_give_three_problems():
    with pytest.raises(ConfigError) as info:
        parse_run({"activation": "nope", "lr": "-1", "samples": "abc", "hidden": "8x16"})
    assert sorted(p.key for p in info.value.problems) == ["activation", "lr", "samples"]
    with pytest.raises(ConfigError) as info:
        parse_group({"lr": "x", "b.activation": "nope", "c.dropout": "2", "d.init": "he_normal"})
    assert sorted(p.key for p in info.value.problems) == ["b.activation", "c.dropout", "lr"]


def test_a_bad_base_key_is_not_repeated_for_each_run():
    with pytest.raises(ConfigError) as info:
        parse_group({"lr": "x", "b.activation": "relu", "c.activation": "elu"})
    assert [p.key for p in info.value.problems] == ["lr"]


@pytest.mark.parametrize("digits", [5000, 10_000])
@pytest.mark.parametrize("key", ["seed", "samples", "hidden", "lr"])
def test_integers_too_long_to_print_are_config_errors(key, digits):
    """YAML reads `seed: 999...9` (thousands of digits) as an int; repr() of it raises ValueError."""
    with pytest.raises(ConfigError) as info:
        parse_run({key: 10**digits})
    assert [p.key for p in info.value.problems] == [key]
    assert len(str(info.value)) < 2000
    with pytest.raises(ConfigError):
        parse_group({key: 10**digits})
    _, problems = parse_group_lenient({key: 10**digits})
    assert [p.key for p in problems] == [key]


def test_empty_key_is_not_blamed_on_hidden():
    for key in ("", "   "):
        with pytest.raises(ConfigError) as info:
            parse_group({key: "5", "lr": "0.5"})
        (problem,) = info.value.problems
        assert problem.key != "hidden"
        assert problem.message == "unknown key"
        group, problems = parse_group_lenient({key: "5", "lr": "0.5"})
        assert group.base.lr == 0.5
        assert len(problems) == 1


@pytest.mark.parametrize("key", ["b.", "c. ", "b.."])
def test_prefix_with_empty_name_is_a_config_error(key):
    with pytest.raises(ConfigError) as info:
        parse_group({key: "5"})
    assert len(info.value.problems) == 1
    group, problems = parse_group_lenient({key: "5", "lr": "0.5"})
    assert group.base.lr == 0.5 and len(problems) == 1


def test_nan_and_inf_floats_from_yaml_are_refused():
    for value in (math.nan, math.inf, -math.inf):
        with pytest.raises(ConfigError) as info:
            parse_group({"lr": value})
        assert [p.key for p in info.value.problems] == ["lr"]
