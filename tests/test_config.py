"""The one vocabulary: parsing, rendering and round trips of run and group configs, and hostile input.

Valid configs are generated from `RunConfig.model_fields` (Literal choices, ge/le bounds, hidden lists),
so a key added to the schema is covered here without touching this file.
"""

from __future__ import annotations

import math
import string
from itertools import pairwise
from typing import Any, get_args

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from engine.vocabulary.config import (
    GROUP_KEYS,
    MAX_LAYERS,
    MAX_PARAMETERS,
    MAX_WIDTH,
    ConfigError,
    Problem,
    RunConfig,
    all_keys,
    format_hidden,
    parameter_count,
    parse_hidden,
    parse_run,
)
from engine.vocabulary.group import (
    PAGE_KEYS,
    GroupConfig,
    config_yaml,
    parse_group,
    parse_group_lenient,
    render_group,
    typed_mapping,
)

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
DEFAULT = RunConfig()
KEYS = all_keys()
RUN_KEYS = [k for k in KEYS if k not in GROUP_KEYS]  # keys that b./c./d. may override
ACTIVATIONS = get_args(RunConfig.model_fields["activation"].annotation)


def bounds(key: str) -> tuple[Any, Any]:
    metadata = RunConfig.model_fields[key].metadata
    lo = next((m.ge for m in metadata if hasattr(m, "ge")), None)
    hi = next((m.le for m in metadata if hasattr(m, "le")), None)
    return lo, hi


def kind(key: str) -> str:
    annotation = RunConfig.model_fields[key].annotation
    if key == "hidden":
        return "hidden"
    if get_args(annotation) and all(isinstance(c, str) for c in get_args(annotation)):
        return "choice"
    if annotation is bool:
        return "bool"
    if annotation is int:
        return "int"
    if annotation is float:
        return "float"
    raise AssertionError(f"no strategy for key {key!r} of type {annotation!r}: extend tests/test_config.py")


# ---------------------------------------------------------------- strategies for valid configs

HIDDEN = st.one_of(
    st.lists(st.integers(1, 64), max_size=8),
    st.lists(st.integers(1, MAX_WIDTH), max_size=3),  # 3x1024 on digits with norm is ~2.2M parameters
    st.lists(st.integers(1, 4), min_size=MAX_LAYERS - 5, max_size=MAX_LAYERS),
).map(tuple)


def typed_value(key: str) -> st.SearchStrategy[Any]:
    """Valid values of one key, in the type the schema holds."""
    k = kind(key)
    if k == "hidden":
        return HIDDEN
    if k == "choice":
        return st.sampled_from(get_args(RunConfig.model_fields[key].annotation))
    if k == "bool":
        return st.booleans()
    lo, hi = bounds(key)
    if k == "int":
        return st.integers(lo, hi)
    # Subnormals are left to test_float_round_trip_is_exact_through_text_and_yaml: hypothesis refuses to
    # generate them once a process has flushed denormals to zero (see test_cli's float-mode test).
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False, allow_subnormal=False)


def spellings(key: str, value: Any) -> list[Any]:
    """Ways a valid value may arrive: typed (YAML) or as text (links, --set), padded or not."""
    k = kind(key)
    if k == "hidden":
        text = ",".join(str(w) for w in value)
        return [value, list(value), [str(w) for w in value], text, f" {text} ", format_hidden(value)]
    if k == "bool":
        return [value, "true" if value else "false", "True" if value else "False", "1" if value else "0"]
    if k == "float":
        return [value, repr(value), f" {value!r} "]
    if k == "int":
        return [value, str(value), f" {value} "]
    return [value, f" {value} "]


@st.composite
def settings_of(draw: st.DrawFn, keys: list[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(typed values, how they are spelled in the mapping) for a random subset of `keys`."""
    chosen = draw(st.lists(st.sampled_from(keys), unique=True, max_size=len(keys)))
    typed, spelled = {}, {}
    for key in chosen:
        value = draw(typed_value(key))
        typed[key] = value
        spelled[key] = draw(st.sampled_from(spellings(key, value)))
    if typed.get("pretrain", "none") != "none" and typed.get("norm", "none") != "none":
        for key in ("pretrain", "norm"):  # pre-training needs norm none: the one pair of keys that excludes
            del typed[key], spelled[key]
    return typed, spelled


LABELS = (
    st.text(st.characters(codec="utf-8", categories=("L", "N", "P", "S", "Zs")), min_size=1, max_size=40)
    .map(str.strip)
    .filter(lambda t: bool(t) and t.isprintable() and len(t.encode()) <= 40)  # 40 bytes: links stay short
)


@st.composite
def group_mappings(draw: st.DrawFn) -> tuple[dict[str, Any], GroupConfig]:
    """A valid group mapping (1-4 runs, labels) and the group it must parse to, built independently."""
    base_typed, mapping = draw(settings_of(KEYS))
    base = RunConfig.model_validate(base_typed)
    runs, labels = [base], ["a"]
    if draw(st.booleans()):
        labels[0] = draw(LABELS)
        mapping["label"] = labels[0]
    for run_id in "bcd"[: draw(st.integers(0, 3))]:
        over_typed, over = draw(settings_of(RUN_KEYS))
        mapping.update({f"{run_id}.{k}": v for k, v in over.items()})
        label = draw(st.one_of(st.none(), LABELS))
        if label is None and not over:
            label = run_id  # a run with no keys at all does not exist; its label key makes it
        if label is not None:
            mapping[f"{run_id}.label"] = label
        combined = {**base_typed, **over_typed}
        # an override can pair pre-training with a norm the base set (or the other way round): not a valid run
        assume(combined.get("pretrain", "none") == "none" or combined.get("norm", "none") == "none")
        runs.append(RunConfig.model_validate(combined))
        labels.append(label if label is not None else run_id)
    return mapping, GroupConfig(runs=tuple(runs), labels=tuple(labels))


# ---------------------------------------------------------------- round trips


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


# ---------------------------------------------------------------- hidden


@pytest.mark.parametrize(("value", "widths"), [
    ("32,32,32", (32, 32, 32)),
    ("8x32", (32,) * 8),
    ("2x64,32", (64, 64, 32)),
    (" 8 x 32 ", (32,) * 8),
    ("8×32", (32,) * 8),
    ("", ()),
    ("0", ()),
    ("none", ()),
    ([], ()),
    ([16, 8], (16, 8)),
    (("4", "2"), (4, 2)),
    (7, (7,)),
    ("1024", (1024,)),
    ("50x1", (1,) * 50),
    ("1,1024", (1, 1024)),
])
def test_hidden_accepts(value, widths):
    assert parse_hidden(value) == widths
    assert parse_run({"hidden": value}).hidden == widths


@pytest.mark.parametrize("value", [
    "0,32", "32,0", [0], [32, 0], "1025", [1025], "2000,2", "51x1", "50x1,1", "25x1,26x1", [1] * 51,
    "abc", "32;32", "32,,32", "3.5", [3.5], "-4", [-4], "x32", "32x", "8x32x2", "1e3", "nan", "inf",
    True, [True], None, {"a": 1}, "9" * 500, "100000x100000", "8x100000",
])
def test_hidden_rejects_naming_the_key(value):
    with pytest.raises(ConfigError) as info:
        parse_run({"hidden": value})
    assert [p.key for p in info.value.problems] == ["hidden"]
    assert "hidden" in str(info.value)
    assert "1-1024" in info.value.problems[0].allowed or "1024" in info.value.problems[0].allowed


def expected_parameters(n_in: int, n_out: int, hidden: tuple[int, ...], norm: bool = False) -> int:
    sizes = [n_in, *hidden, n_out]
    count = sum(a * b + b for a, b in pairwise(sizes))
    return count + (2 * sum(hidden) if norm else 0)


def test_parameter_count_matches_the_layer_arithmetic():
    assert expected_parameters(64, 10, (1024,) * 10) == 9_523_210
    assert parameter_count(RunConfig(dataset="digits", hidden=(16, 8))) == expected_parameters(64, 10, (16, 8))
    assert parameter_count(RunConfig(dataset="sine", hidden=(4,))) == expected_parameters(1, 1, (4,))
    assert parameter_count(RunConfig(hidden=(4,), norm="batch")) == expected_parameters(2, 2, (4,), norm=True)


def test_parameter_cap_is_reported_on_hidden():
    with pytest.raises(ConfigError) as info:
        parse_run({"dataset": "digits", "hidden": "10x1024"})
    (problem,) = info.value.problems
    assert problem.key == "hidden"
    assert "9,523,210" in problem.message and f"{MAX_PARAMETERS:,}" in problem.message
    assert "hidden" in str(info.value)


def test_parameter_cap_boundary():
    # sine: 1 input, 1 output. 5x1024 then w: 4,200,449 + 1,026 w parameters.
    assert expected_parameters(1, 1, (1024,) * 5 + (779,)) == 4_999_703 <= MAX_PARAMETERS
    assert expected_parameters(1, 1, (1024,) * 5 + (780,)) == 5_000_729 > MAX_PARAMETERS
    assert parse_run({"dataset": "sine", "hidden": "5x1024,779"}).hidden[-1] == 779
    for mapping in ({"dataset": "sine", "hidden": "5x1024,780"},
                    {"dataset": "sine", "hidden": "5x1024,779", "norm": "batch"}):  # norm adds 2 per unit
        with pytest.raises(ConfigError) as info:
            parse_run(mapping)
        assert [p.key for p in info.value.problems] == ["hidden"]


def test_parameter_cap_from_a_run_override_is_a_config_error():
    """Run a fits under the cap; b.norm=batch adds 2 parameters per unit and pushes run b over it."""
    mapping = {"dataset": "sine", "hidden": "5x1024,779", "b.norm": "batch"}
    with pytest.raises(ConfigError) as info:
        parse_group(mapping)
    assert any(p.key.startswith("b.") for p in info.value.problems)
    group, problems = parse_group_lenient(mapping)
    assert isinstance(group, GroupConfig)
    assert problems and all(p.key.startswith("b.") for p in problems)


# ---------------------------------------------------------------- messages and problems


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


# ---------------------------------------------------------------- prefixes and labels


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


# ---------------------------------------------------------------- hostile mappings (property-based)

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


def test_nan_and_inf_floats_from_yaml_are_refused():
    for value in (math.nan, math.inf, -math.inf):
        with pytest.raises(ConfigError) as info:
            parse_group({"lr": value})
        assert [p.key for p in info.value.problems] == ["lr"]
