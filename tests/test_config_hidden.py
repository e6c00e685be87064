"""The hidden key: the spellings of layer widths it accepts and refuses, and the parameter cap, which is
reported on hidden (also when a run override pushes a run over it)."""

from __future__ import annotations

from itertools import pairwise

import pytest

from engine.vocabulary.config import MAX_PARAMETERS, ConfigError, RunConfig, parameter_count, parse_hidden, parse_run
from engine.vocabulary.group import GroupConfig, parse_group, parse_group_lenient


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
