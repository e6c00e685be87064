"""L1 (`l1`) is a proximal step after the update: weights whose size falls below lr * l1 become exactly 0.

L2 (`weight_decay`) shrinks every weight but zeros none; a run without l1 is untouched by it, also beside an
l1 run in one stack; and one step is the soft-threshold formula, whatever the rule.
"""

from __future__ import annotations

import pytest
import torch

import engine
from engine.nets.optimizers import StackOptimizer
from engine.nets.stack import Stack
from engine.vocabulary.config import OPTIMIZERS
from tests.test_exactness import _bits_equal

SPIRAL = {"dataset": "spiral", "hidden": "32,32", "steps": "500", "probe_every": "50"}


def _h1(result: engine.TrainResult, run_id: str = "a") -> torch.Tensor:
    return result.weights[run_id]["h1.weight"]


def _rms(weights: torch.Tensor) -> float:
    return float(weights.square().mean().sqrt())


def test_l1_zeros_weights_and_l2_only_shrinks_them() -> None:
    plain = _h1(engine.train(SPIRAL))
    lasso = _h1(engine.train({**SPIRAL, "l1": "0.01"}))
    ridge = _h1(engine.train({**SPIRAL, "weight_decay": "0.01"}))
    assert float((lasso == 0).float().mean()) > 0.5  # 0.73 measured
    assert not bool((plain == 0).any())
    assert not bool((ridge == 0).any())
    assert _rms(ridge) < 0.8 * _rms(plain)  # 0.24 against 0.40 measured


@pytest.mark.parametrize("other", [{}, {"b.optimizer": "adam", "b.lr": "0.01"}], ids=["same rule", "mixed rules"])
def test_each_run_of_a_stack_gets_its_own_l1(other: dict) -> None:
    """An l1 run beside a plain one (b.l1=0), in one stack with one rule or with rows per rule: each run's
    weights are those it gets trained alone, bit for bit."""
    mapping = {**SPIRAL, "steps": "200", "l1": "0.01", "b.l1": "0", **other}
    group = engine.train(mapping)
    alone = {"a": engine.train({**SPIRAL, "steps": "200", "l1": "0.01"}),
             "b": engine.train({**SPIRAL, "steps": "200", **{key[2:]: value for key, value in other.items()}})}
    assert bool((group.weights["a"]["h1.weight"] == 0).any())
    for run_id, single in alone.items():
        for name, tensor in single.weights["a"].items():
            assert _bits_equal(tensor, group.weights[run_id][name]), (run_id, name)


def test_without_l1_the_step_never_thresholds(monkeypatch: pytest.MonkeyPatch) -> None:
    """l1=0 takes the rules' own arithmetic (pinned to torch.optim in test_exactness.py): no extra op at all."""
    def fail(self, weights):
        raise AssertionError("soft-thresholding ran with l1=0")

    monkeypatch.setattr(StackOptimizer, "_soft_threshold", fail)
    result = engine.train({**SPIRAL, "steps": "20", "b.optimizer": "adam"})
    assert set(result.weights) == {"a", "b"}


def _one_step(optimizer: str, weights: torch.Tensor, grads: torch.Tensor) -> Stack:
    run = engine.parse_run({"hidden": "3", "optimizer": optimizer, "lr": "0.1", "l1": "0.5"})
    stack = Stack([run], sizes=[2, 3, 2], dropout_seed=0)
    step = StackOptimizer(stack)
    with torch.no_grad():
        stack.weights[0][0].copy_(weights)
    stack.grads[0][0].copy_(grads)
    step.step()
    return stack


def test_one_sgd_step_is_the_update_then_the_soft_threshold() -> None:
    """lr=0.1, l1=0.5: the threshold is 0.05 after w - 0.1 * g."""
    weights = torch.tensor([[0.3, 0.04, -0.3], [-0.02, 0.2, 0.5]])
    grads = torch.tensor([[1.0, 0.0, -1.0], [0.0, 1.8, -1.0]])
    stack = _one_step("sgd", weights, grads)
    stepped = weights - 0.1 * grads  # [[0.2, 0.04, -0.2], [-0.02, 0.02, 0.6]]
    expected = torch.sign(stepped) * torch.clamp(stepped.abs() - 0.05, min=0)
    assert torch.equal(stack.weights[0][0], expected)
    by_hand = [[0.15, 0.0, -0.15], [0.0, 0.0, 0.55]]
    torch.testing.assert_close(stack.weights[0][0], torch.tensor(by_hand), rtol=0, atol=1e-7)
    assert int((stack.weights[0][0] == 0).sum()) == 3


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_the_threshold_is_lr_times_l1_for_every_rule(optimizer: str) -> None:
    """With a zero gradient every rule leaves w where it is, so one step is the soft threshold alone, at
    lr * l1 = 0.05 also for the adaptive rules. Biases are never thresholded."""
    weights = torch.tensor([[0.3, 0.04, -0.3], [-0.05, 0.06, -0.5]])
    stack = _one_step(optimizer, weights, torch.zeros(2, 3))
    expected = torch.sign(weights) * torch.clamp(weights.abs() - 0.05, min=0)
    assert torch.equal(stack.weights[0][0], expected)
    by_hand = torch.tensor([[0.25, 0.0, -0.25], [0.0, 0.01, -0.45]])
    torch.testing.assert_close(stack.weights[0][0], by_hand, rtol=0, atol=1e-7)
    initial = Stack([engine.parse_run({"hidden": "3"})], sizes=[2, 3, 2], dropout_seed=0).biases
    for mine, before in zip(stack.biases, initial):
        assert _bits_equal(mine.detach(), before.detach())
