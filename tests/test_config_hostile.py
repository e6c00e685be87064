"""Hostile mappings (property-based): any keys and values raise only ConfigErrors that name a given key,
and the lenient parser never raises, reports every bad key once and applies every good one."""

from __future__ import annotations

import string
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from engine.vocabulary.config import GROUP_KEYS, ConfigError, Problem, RunConfig, parse_run
from engine.vocabulary.group import PAGE_KEYS, GroupConfig, parse_group, parse_group_lenient, render_group
from tests.config_strategies import FAST, KEYS, RUN_KEYS, bounds, kind, settings_of

PLAIN = st.sampled_from([*KEYS, "label", *PAGE_KEYS])
PREFIX = st.sampled_from(["", "b.", "c.", "d.", "a.", "e.", "x.", "B.", ".", "b..", " b.", "b. "])
SPACE = st.sampled_from(["", " ", "  ", "\t", "\n"])
HOSTILE_KEYS = st.one_of(
    st.builds(lambda p, k: p + k, PREFIX, PLAIN),
    st.builds(lambda left, k, right: left + k + right, SPACE, PLAIN, SPACE),  # repeated-looking keys
    st.builds(lambda k: k.upper(), PLAIN),
    st.text(max_size=20),
    st.text(min_size=61, max_size=200),
    st.integers(-5, 5),
)
HOSTILE_VALUES = st.one_of(
    st.text(max_size=40),
    st.text(min_size=300, max_size=3000),
    st.sampled_from([
        "nan", "NaN", "-nan", "inf", "-inf", "Infinity", "1e999", "-1e999", "1e-999", "1e308", "-1", "-0", "0", "",
        " ", "99999999999999999999999", "0x10", "8x32", "100000x100000", "1024," * 60, "51x1", "0,0", "true",
        "none", "null", "☃", "\x00", "32,32,32", "٣٢", "１", "²", "1_000", "5e-324", "relu", "sine",
    ]),
    st.integers(),
    st.integers(-(10**300), 10**300),
    st.floats(allow_subnormal=False),
    st.booleans(),
    st.none(),
    st.lists(st.one_of(st.integers(-(10**6), 10**6), st.text(max_size=6), st.floats(allow_subnormal=False)),
             max_size=60),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
    st.binary(max_size=10),
)
HOSTILE = st.dictionaries(HOSTILE_KEYS, HOSTILE_VALUES, max_size=10)


def given_forms(mapping: dict[Any, Any]) -> set[str]:
    return {str(k).strip() for k in mapping} | {str(k) for k in mapping}


def names_a_given_key(problem_key: str, given: set[str]) -> bool:
    if problem_key in given:
        return True
    if problem_key.startswith("a.") and problem_key[2:] in given:  # run a's label
        return True
    if any(len(g) > 60 and g.startswith(problem_key) and len(problem_key) >= 60 for g in given):
        return True  # very long keys may be shortened in messages
    run_id, _, name = problem_key.rpartition(".")
    if name == "hidden":  # the parameter cap lands on hidden, whichever key made the net too big
        run_keys = {g for g in given if g.rpartition(".")[0] in ("", run_id)}
        return any(g.endswith("hidden") or g.endswith("norm") for g in run_keys)
    return False


def check_problems(error: ConfigError, mapping: dict[Any, Any]) -> None:
    given = given_forms(mapping)
    text = str(error)
    assert error.problems
    for problem in error.problems:
        assert isinstance(problem, Problem)
        assert names_a_given_key(problem.key, given), (problem.key, sorted(given))
        assert problem.key[:57] in text  # very long keys are shortened in messages
        assert problem.message and problem.allowed
        assert len(problem.value) <= 80


@FAST
@given(HOSTILE)
def test_hostile_mappings_raise_only_config_errors(mapping):
    try:
        group = parse_group(mapping)
    except ConfigError as error:
        check_problems(error, mapping)
    else:
        assert isinstance(group, GroupConfig)
        assert parse_group(render_group(group)) == group
    try:
        parse_run({k: v for k, v in mapping.items() if "." not in str(k)})
    except ConfigError as error:
        check_problems(error, mapping)


@FAST
@given(HOSTILE)
def test_lenient_never_raises_on_hostile_mappings(mapping):
    group, problems = parse_group_lenient(mapping)
    assert isinstance(group, GroupConfig)
    assert all(isinstance(run, RunConfig) for run in group.runs)
    assert parse_group(render_group(group)) == group  # what it returns is a valid, linkable group
    given = given_forms(mapping)
    for problem in problems:
        assert names_a_given_key(problem.key, given), (problem.key, sorted(given))
    assert len(problems) <= len(mapping)  # each bad key reported once, not once per retry


def bad_value(key: str) -> st.SearchStrategy[Any]:
    """Values that are wrong for `key` whatever else the mapping holds."""
    garbage = st.sampled_from(["nope", "nan", "inf", "@@", "1.2.3", "☃"])
    k = kind(key)
    if k == "hidden":
        return st.sampled_from(["0,4", "1025", "51x1", "abc", "-3", "100000x100000", [0], "1x"])
    if k == "choice":
        return st.one_of(garbage, st.just(""), st.integers())
    if k == "bool":
        return st.sampled_from(["maybe", "2", "", "nope", "☃"])
    lo, hi = bounds(key)
    out_of_range = st.sampled_from([lo - 1, hi * 2 + 1, str(hi * 10 + 1), str(lo - 1)])
    extra = [st.just("1.5")] if k == "int" else []
    return st.one_of(garbage, out_of_range, st.just(""), *extra)


@st.composite
def bad_entries(draw: st.DrawFn) -> tuple[str, Any]:
    choice = draw(st.integers(0, 6))
    if choice == 0:
        key = draw(st.text(string.ascii_letters + "_", min_size=1, max_size=20))
        if key in (*KEYS, *PAGE_KEYS, "label"):
            key += "_x"
        return key, draw(HOSTILE_VALUES)
    if choice == 1:
        key = draw(st.sampled_from(KEYS))
        return key, draw(bad_value(key))
    if choice == 2:
        key = draw(st.sampled_from(RUN_KEYS))
        return f"{draw(st.sampled_from('bcd'))}.{key}", draw(bad_value(key))
    if choice == 3:
        return f"{draw(st.sampled_from('bcd'))}.{draw(st.sampled_from(GROUP_KEYS))}", draw(HOSTILE_VALUES)
    if choice == 4:
        return f"{draw(st.sampled_from(['e', 'x', 'a', 'B', 'run']))}.{draw(PLAIN)}", draw(HOSTILE_VALUES)
    if choice == 5:
        return draw(st.sampled_from(["label", "b.label"])), draw(st.sampled_from(["", "x" * 41, "a\nb", "\x00"]))
    return "x" * draw(st.integers(61, 120)) + ".lr", draw(HOSTILE_VALUES)


@FAST
@given(settings_of(KEYS), st.lists(bad_entries(), min_size=1, max_size=5))
def test_lenient_reports_every_bad_key_and_applies_every_good_one(good, bad):
    typed, spelled = good
    bad_map = {k: v for k, v in bad if k not in spelled}
    mapping = {**spelled, **bad_map}
    group, problems = parse_group_lenient(mapping)
    reported = [p.key for p in problems]
    for key in bad_map:
        forms = {key, f"a.{key}", key[:60]}
        assert forms & set(reported), (key, reported)
    for key in typed:
        assert key not in reported, (key, reported)
        for run in group.runs:
            assert getattr(run, key) == getattr(RunConfig.model_validate({key: typed[key]}), key), key
    assert len(problems) == len(bad_map)
