"""Run and group configs survive parsing, rendering to link keys and YAML, and back, exactly; the rendered
form is minimal (no key at its default, no run repeating run a)."""

from __future__ import annotations

import pytest
import yaml
from hypothesis import given
from pydantic import ValidationError

from engine.vocabulary.config import GROUP_KEYS, RunConfig
from engine.vocabulary.group import GroupConfig, config_yaml, parse_group, render_group, typed_mapping
from tests.config_strategies import DEFAULT, FAST, KEYS, group_mappings, kind, typed_value


def test_strategies_cover_every_key():
    for key in KEYS:
        assert typed_value(key) is not None


def test_defaults_render_to_nothing():
    assert parse_group({}) == GroupConfig.single()
    assert render_group(GroupConfig.single()) == {}
    assert typed_mapping(GroupConfig.single()) == {}


@FAST
@given(group_mappings())
def test_parse_group_builds_the_intended_group(case):
    mapping, expected = case
    assert parse_group(mapping) == expected


@FAST
@given(group_mappings())
def test_render_group_round_trips_and_is_minimal(case):
    mapping, _ = case
    group = parse_group(mapping)
    rendered = render_group(group)
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in rendered.items())
    assert parse_group(rendered) == group
    assert render_group(parse_group(rendered)) == rendered
    ids = group.ids
    for key in rendered:
        run_id, _, name = key.rpartition(".")
        index = ids.index(run_id or "a")
        run = group.runs[index]
        if name == "label":
            assert group.labels[index] != ids[index] or (index > 0 and run == group.base), key
            continue
        assert name in KEYS, key
        if index == 0:
            assert getattr(run, name) != getattr(DEFAULT, name), f"{key} is at its default"
        else:
            assert name not in GROUP_KEYS, key
            assert getattr(run, name) != getattr(group.base, name), f"{key} repeats run a"


@FAST
@given(group_mappings())
def test_yaml_round_trip_is_exact(case):
    mapping, _ = case
    group = parse_group(mapping)
    text = config_yaml(group)
    again = parse_group(yaml.safe_load(text) or {})
    assert again == group
    for before, after in zip(group.runs, again.runs):
        for key in KEYS:
            if kind(key) == "float":
                assert getattr(after, key).hex() == getattr(before, key).hex(), key


@pytest.mark.parametrize("value", [0.1, 0.30000000000000004, 1e-6, 5e-324, 0.7071067811865476, 2 / 3,
                                   9.999999999999998])
def test_float_round_trip_is_exact_through_text_and_yaml(value):
    key = "noise" if value <= 1 else "lr"
    group = parse_group({key: value})
    assert getattr(group.base, key) == value
    assert getattr(parse_group(render_group(group)).base, key) == value
    assert getattr(parse_group(yaml.safe_load(yaml.safe_dump(typed_mapping(group)))).base, key) == value


def test_group_config_never_holds_runs_that_disagree_on_shared_keys():
    """Lock-step runs share GROUP_KEYS; a GroupConfig that breaks this renders to a mapping parse_group refuses."""
    try:
        group = GroupConfig(runs=(RunConfig(steps=100), RunConfig(steps=200)), labels=("a", "b"))
    except ValidationError:
        return  # refusing such a group is the right answer
    assert parse_group(render_group(group)) == group
