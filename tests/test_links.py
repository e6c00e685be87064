"""Reading links: never raises, names every bad key, applies the rest, and round-trips the config."""

from __future__ import annotations

from app.links import MAX_KEYS, link_params, read_link
from engine.vocabulary.config import RunConfig, all_keys
from engine.vocabulary.group import parse_group


def test_a_link_restores_the_config_it_was_made_from():
    group = parse_group({"hidden": "10x32", "activation": "sigmoid", "init": "standard", "lr": "0.3"})
    link = read_link({k: [v] for k, v in link_params(group).items()})
    assert link.group == group and link.problems == [] and not link.autorun


def test_bad_keys_are_named_and_good_keys_apply():
    link = read_link({"hidden": ["4x8"], "lr": ["abc"], "colour": ["blue"], "autorun": ["1"]})
    assert link.autorun
    assert link.group.base.hidden == (8, 8, 8, 8)
    assert link.group.base.lr == RunConfig().lr  # the bad value falls back to the default
    assert {p.key for p in link.problems} == {"lr"}
    assert all(p.allowed for p in link.problems)
    assert link.unknown == {"colour": "blue"}  # no key at all: counted and named, with the other unknown keys
    assert link.problem_lines()[-1].startswith("1 unknown key, ignored: colour='blue' (allowed: ")


def test_repeated_long_and_too_many_keys_are_reported_not_fatal():
    link = read_link({"lr": ["0.1", "0.2"], "noise": ["0." + "1" * 1000]})
    assert link.group.base.lr == 0.2
    assert {p.key for p in link.problems} == {"lr", "noise"}
    known = [*all_keys(), "label", *(f"{run}.{key}" for run in "bcd" for key in (*all_keys(), "label"))]
    link = read_link({key: ["?"] for key in known})  # every key a link may hold, each with a bad value
    assert len(known) > MAX_KEYS and link.problems[0].key == "(link)"
    assert len(link.problems) <= MAX_KEYS + 1


def test_a_thousand_junk_keys_are_one_line_that_counts_them():
    link = read_link({"hidden": ["4x8"], **{f"a{i}": [str(i)] for i in range(1, 999)}, "lr": ["0.3"]})
    assert link.problems == [] and len(link.unknown) == 998
    assert link.group.base.hidden == (8, 8, 8, 8) and link.group.base.lr == 0.3  # the rest applies
    [line] = link.problem_lines()
    assert line.startswith("998 unknown keys, ignored: a1='1', a2='2', ") and " and 990 more (allowed: " in line
    assert "a8='8'" in line and "a9=" not in line
    assert len(line) < 600


def test_presets_load_and_explicit_keys_override_them():
    link = read_link({"preset": ["vanishing-sigmoid"], "lr": ["0.5"]})
    assert link.problems == [] and link.preset == "vanishing-sigmoid"
    assert link.group.base.activation == "sigmoid" and link.group.base.lr == 0.5
    bad = read_link({"preset": ["../../etc/passwd"], "hidden": ["4"]})
    assert [p.key for p in bad.problems] == ["preset"]
    assert bad.group.base.hidden == (4,)
