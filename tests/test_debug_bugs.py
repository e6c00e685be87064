"""Planted bugs (engine/nets/bugs.py): each backward bug is named by the gradient check in the tensors it touches
and only there, on both training paths; the training-level bugs leave the gradient right; a run's bug never
changes another run of its group; and a bug is never on silently."""

from __future__ import annotations

import pytest
import torch

from engine.debugging.banner import planted_lines
from engine.debugging.gradcheck import gradient_check
from engine.nets.bugs import BACKWARD, BUGS, NAMES, TRAINING
from engine.training.trainer import GroupTrainer
from engine.vocabulary.config import ACTIVATIONS, ConfigError, parse_run
from engine.vocabulary.group import parse_group

SMALL = {"hidden": "6,5", "samples": "100"}
NONLINEAR = [name for name in ACTIVATIONS if name != "linear"]


def _touched(bug: str, activation: str = "tanh") -> tuple[set[str], set[str], object]:
    """(tensors checked wrong, tensors below 1e-6) over both paths, and the table."""
    table = gradient_check(parse_run({**SMALL, "activation": activation, "bug": bug})).table
    assert set(table["path"]) == {"fast", "autograd"}
    wrong = set(table.loc[table["error"] > 1e-2, "tensor"])
    right = set(table.loc[table["error"] < 1e-6, "tensor"])
    return wrong, right, table


@pytest.mark.parametrize("activation", NONLINEAR)
def test_the_slope_bug_is_named_in_every_hidden_tensor_and_only_there(activation):
    wrong, right, table = _touched("slope", activation)
    assert wrong == {"h1.weight", "h1.bias", "h2.weight", "h2.bias"}, table.to_string()
    assert right == {"out.weight", "out.bias"}, table.to_string()


def test_the_slope_bug_changes_nothing_where_the_slope_is_1():
    wrong, right, _ = _touched("slope", "linear")
    assert not wrong and len(right) == 6


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_the_bias_gradient_bug_is_named_in_every_bias_and_only_there(activation):
    wrong, right, table = _touched("bias_grad", activation)
    assert wrong == {"h1.bias", "h2.bias", "out.bias"}, table.to_string()
    assert right == {"h1.weight", "h2.weight", "out.weight"}
    assert table.loc[table["tensor"].str.endswith("bias"), "error"].eq(1.0).all()  # a gradient of 0


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_the_weight_gradient_bug_is_named_in_every_weight_and_only_there(activation):
    wrong, right, table = _touched("weight_grad_scale", activation)
    assert wrong == {"h1.weight", "h2.weight", "out.weight"}, table.to_string()
    assert right == {"h1.bias", "h2.bias", "out.bias"}
    weights = table.loc[table["tensor"].str.endswith("weight"), "error"]
    assert weights.sub(1 - 1 / 8).abs().lt(1e-6).all()  # divided by the batch of 8 once more: 1 - 1/8


@pytest.mark.parametrize("bug", [name for name, bug in BUGS.items() if bug.kind == TRAINING and name != "none"])
def test_a_training_level_bug_leaves_the_gradient_right(bug):
    wrong, right, _ = _touched(bug)
    assert not wrong and len(right) == 6  # the gradient check cannot see it: the sanity checks do


def test_every_bug_is_of_one_kind_with_a_check_meant_for_it():
    assert NAMES[0] == "none"
    for name, bug in BUGS.items():
        assert bug.kind in (BACKWARD, TRAINING)
        if name != "none":
            assert bug.caught_by in ("gradient check", "overfit", "validation") and bug.look_for
            assert (bug.kind == BACKWARD) == (bug.caught_by == "gradient check"), name


@pytest.mark.parametrize("bug", NAMES[1:])
def test_a_bug_in_run_b_leaves_run_a_bit_for_bit_as_alone(bug):
    small = {"hidden": "6,5", "samples": "80", "batch_size": "8", "probe_every": "2"}
    alone = GroupTrainer(parse_group(small))
    paired = GroupTrainer(parse_group({**small, "b.bug": bug}))
    alone.advance(6)
    paired.advance(6)
    a, b = alone.state_dict(0), paired.state_dict(0)
    assert all(torch.equal(a[name], b[name]) for name in a), bug
    different = paired.state_dict(1)
    assert any(not torch.equal(a[name], different[name]) for name in a), f"{bug} changed nothing in run b"


def test_a_bug_is_never_on_silently():
    group = parse_group({"b.bug": "softmax_twice", "b.label": "buggy"})
    (line,) = planted_lines(group)
    assert "run b (buggy)" in line and "bug=softmax_twice" in line and BUGS["softmax_twice"].description in line
    assert planted_lines(parse_group({})) == []


def test_an_unknown_bug_is_refused_naming_the_key_and_what_is_allowed():
    with pytest.raises(ConfigError) as caught:
        parse_run({"bug": "typo"})
    (problem,) = caught.value.problems
    assert problem.key == "bug" and "'typo'" in problem.value and "slope" in problem.allowed
