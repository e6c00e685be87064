"""The gradient check (engine/debugging/gradcheck.py) on the engine's own backward pass: with no bug every tensor
of every activation x norm x training path checks right in float64, float32 at h = 1e-6 raises the false alarm
float64 does not, the error against h draws its U, and entries whose step crosses a kink are flagged."""

from __future__ import annotations

import math
from typing import get_args

import pytest
import torch

from engine.debugging.gradcheck import ENTRIES, band, gradient_check, relative_error
from engine.debugging.kinks import crossed, kinks
from engine.debugging.sweep import error_vs_h
from engine.vocabulary.config import ACTIVATIONS, RunConfig, parse_run

NORMS = get_args(RunConfig.model_fields["norm"].annotation)
SMALL = {"hidden": "5,4", "samples": "100"}


@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_every_tensor_checks_right_in_float64_without_a_bug(activation, norm):
    result = gradient_check(parse_run({**SMALL, "activation": activation, "norm": norm}))
    table = result.table
    expected_paths = {"fast", "autograd"} if norm == "none" else {"autograd"}  # norms train on autograd only
    assert set(table["path"]) == expected_paths
    tensors = 6 if norm == "none" else 10  # 3 weights, 3 biases (and 2 gains, 2 shifts)
    assert len(table) == tensors * len(expected_paths)
    assert (table["checked"] > 0).all()  # kinks never left a tensor unchecked here
    worst = table["error"].max()
    assert worst < 1e-6, table[table["error"] >= 1e-6].to_string()
    assert result.passed


def test_the_two_paths_agree_and_big_tensors_are_sampled():
    table = gradient_check(parse_run({"hidden": "32,32"})).table
    fast, autograd = (table[table["path"] == path].set_index("tensor") for path in ("fast", "autograd"))
    assert fast["error"].equals(autograd["error"])  # the fast path's gradient is autograd's, bit for bit
    assert fast.loc["h2.weight", "checked"] == ENTRIES and fast.loc["h2.weight", "size"] == 32 * 32
    assert fast.loc["out.bias", "checked"] == 2


def test_float32_at_h_1e_6_raises_the_false_alarm_that_float64_does_not():
    run = parse_run({"hidden": "16,16"})
    wide = gradient_check(run, dtype=torch.float64, h=1e-6)
    narrow = gradient_check(run, dtype=torch.float32, h=1e-6)
    assert wide.passed and wide.table["error"].max() < 1e-7
    assert not narrow.passed and narrow.table["error"].max() > 0.1  # the same correct code, "wrong"


def test_the_error_against_h_is_a_u_in_float64_and_far_higher_in_float32():
    curves = error_vs_h(parse_run({"hidden": "8,8"}))
    worst = curves.groupby(["dtype", "h"])["error"].max()
    wide, narrow = worst["float64"], worst["float32"]
    bottom = wide.idxmin()
    assert wide.min() < 1e-8 and 1e-8 <= bottom <= 1e-3
    assert wide[1e-12] > 100 * wide.min() and wide[0.1] > 100 * wide.min()  # rounding left, truncation right
    assert narrow[1e-6] > 1e-2 and narrow.min() < 1e-2  # float32: a false alarm at 1e-6, fine at a larger h
    assert narrow.idxmin() > bottom


def test_kinks_are_found_from_the_registry_slopes():
    for name in ("relu", "leaky_relu", "selu"):
        (point,) = kinks(name, 0.01)
        assert abs(point) < 1e-9, name
    for name in ("sigmoid", "tanh", "elu", "gelu", "swish", "softplus", "linear"):
        assert kinks(name, 0.01) == (), name
    assert kinks("leaky_relu", 1.0) == ()  # slope 1 on both sides: no kink


def test_a_step_that_crosses_a_kink_is_flagged():
    assert crossed([torch.tensor([0.5, 1e-7])], [torch.tensor([0.5, -1e-7])], (0.0,))
    assert not crossed([torch.tensor([0.5, 2e-7])], [torch.tensor([0.5, 1e-7])], (0.0,))
    assert not crossed([torch.tensor([0.0])], [torch.tensor([0.0])], (0.0,))  # on the kink but never moved
    relu = gradient_check(parse_run({**SMALL, "activation": "relu"}), h=0.3, paths=("fast",)).table
    tanh = gradient_check(parse_run({**SMALL, "activation": "tanh"}), h=0.3, paths=("fast",)).table
    assert relu["kinks"].sum() > 0 and tanh["kinks"].sum() == 0
    assert (relu["checked"] + relu["kinks"] == relu["size"].clip(upper=ENTRIES)).all()


def test_bands_and_relative_error():
    assert [band(e) for e in (0.5, 1e-3, 1e-5, 1e-9, math.nan)] == [
        "wrong", "suspicious", "probably right", "right", "n/a"]
    assert relative_error(torch.tensor([1.0, 0.0]), torch.tensor([1.0, 0.0])) == 0.0
    assert relative_error(torch.tensor([0.0]), torch.tensor([2.0])) == 1.0
    assert math.isnan(relative_error(torch.tensor([]), torch.tensor([])))
