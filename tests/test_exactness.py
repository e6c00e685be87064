"""The engine's hand-made training step is autograd + torch.optim, bit for bit.

The fast path's train_forward/train_backward and optimizers.py reproduce what autograd and torch.optim's foreach
implementations compute (the same ATen calls). These tests pin that down, so a torch upgrade that changes a
formula fails here instead of silently drifting.
"""

from __future__ import annotations

import itertools

import pytest
import torch

import engine
from engine.nets import stack as stack_module
from engine.training.trainer import GroupTrainer
from engine.vocabulary.config import ACTIVATIONS, OPTIMIZERS


def _bits_equal(a: torch.Tensor, b: torch.Tensor) -> bool:
    as_int = {torch.float32: torch.int32, torch.float64: torch.int64}[a.dtype]
    return a.shape == b.shape and torch.equal(a.contiguous().view(as_int), b.contiguous().view(as_int))


MAPPINGS = [
    {"hidden": "5,7,3", "batch_size": "13", "activation": "tanh"},
    {"hidden": "5,7,3", "batch_size": "13", "activation": "gelu", "dropout": "0.3"},
    {"hidden": "6,6", "batch_size": "1", "activation": "relu"},
    {"hidden": "32,32,32", "activation": "tanh", "b.activation": "relu", "c.activation": "sigmoid",
     "d.activation": "gelu"},
    {"hidden": "4,9", "batch_size": "7", "activation": "elu", "b.activation": "selu", "b.dropout": "0.2",
     "c.activation": "linear", "d.activation": "softplus"},
    {"hidden": "4,9", "activation": "linear", "b.seed": "3"},
    {"hidden": "4,9", "activation": "swish", "b.activation": "leaky_relu", "b.leak": "0.2"},
    {"dataset": "sine", "hidden": "8,8", "activation": "tanh", "b.activation": "relu"},
    {"dataset": "digits", "hidden": "16", "activation": "tanh", "b.activation": "relu", "batch_size": "20"},
]


@pytest.mark.parametrize("mapping", MAPPINGS)
def test_hand_made_backward_is_autograd_bit_for_bit(mapping: dict) -> None:
    trainer = GroupTrainer(engine.parse_group({"samples": "200", "steps": "10", **mapping}))
    stack, members = trainer.stacks[0], trainer.members[0]
    assert stack.fast_path is not None
    for _ in range(3):
        trainer.advance(1)  # move the weights off their initial values
    batch = trainer.sampler.next()
    x, y = trainer._x, trainer._y
    torch.index_select(trainer.data.x_train, 0, batch, out=x)
    torch.index_select(trainer.data.y_train, 0, batch, out=y)
    rng = stack.dropout_generator.get_state()

    stack.recorder.start()
    logits = stack.train_forward(x)
    manual_logits = logits.clone()
    loss, grad = trainer._loss_and_grad(logits, y, members)
    stack.train_backward(grad)
    manual_grads = [g.clone() for g in stack.grads]
    manual_grad_z = {i: g.clone() for i, g in stack.recorder.grad_z.items()}
    stack.recorder.stop()

    stack.dropout_generator.set_state(rng)
    stack.recorder.start()
    auto_logits = stack.forward(x, mode="train")
    auto_loss = trainer._loss(auto_logits, y)
    auto_loss.sum().backward()
    assert _bits_equal(manual_logits, auto_logits.detach())
    assert _bits_equal(loss, auto_loss.detach())
    for i, (mine, param) in enumerate(zip(manual_grads, stack.parameters())):
        assert _bits_equal(mine, param.grad), f"parameter {i}"
        param.grad = None
    for i, g in manual_grad_z.items():
        assert _bits_equal(g, stack.recorder.grad_z[i]), f"dL/dz of layer {i}"
    stack.recorder.stop()


@pytest.mark.parametrize("mapping", MAPPINGS)
def test_the_buffered_eval_pass_is_the_reference_eval_bit_for_bit(mapping: dict) -> None:
    """Validation on the fast path (`Stack.evaluate`, into buffers kept for the validation inputs) computes
    forward(mode="eval"), dropout off, bit for bit, with training steps between its passes."""
    trainer = GroupTrainer(engine.parse_group({"samples": "200", "steps": "10", **mapping}))
    stack, x = trainer.stacks[0], trainer.x_val
    passes = []
    for _ in range(2):
        trainer.advance(2)
        with torch.no_grad():
            buffered, reference = stack.evaluate(x), stack.forward(x, mode="eval")
            assert _bits_equal(buffered, reference)
            if stack.drop_p is not None:  # what dropout would have made of it
                assert not _bits_equal(buffered, stack.forward(x, mode="train"))
        passes.append(buffered.data_ptr())
    assert passes[0] == passes[1]  # one set of buffers, made once


def _torch_optimizer(run, weights: list, others: list) -> torch.optim.Optimizer:
    """What the engine used before: torch.optim, foreach, decay on the weights only."""
    groups = [{"params": weights, "weight_decay": run.weight_decay}, {"params": others, "weight_decay": 0.0}]
    if run.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=run.lr, foreach=True)
    if run.optimizer in ("momentum", "nesterov"):
        return torch.optim.SGD(groups, lr=run.lr, momentum=run.momentum, nesterov=run.optimizer == "nesterov",
                               foreach=True)
    cls = {"adagrad": torch.optim.Adagrad, "rmsprop": torch.optim.RMSprop, "adam": torch.optim.Adam,
           "adamw": torch.optim.AdamW}[run.optimizer]
    return cls(groups, lr=run.lr, foreach=True)


def _updates_match_torch_optim(runs: list, sizes: list[int], seed: int, steps: int = 20) -> list:
    """Train a stack of `runs` and each run alone in torch.optim on the same random gradients for `steps` steps;
    returns the stack's rules after checking every parameter of every run bit for bit after each step."""
    from engine.nets.optimizers import StackOptimizer
    from engine.nets.stack import Stack

    stack = Stack(runs, sizes=sizes, dropout_seed=0)
    optimizer = StackOptimizer(stack)
    reference = []
    for k, run in enumerate(runs):
        weights = [w.detach()[k].clone().requires_grad_() for w in stack.weights]
        others = [b.detach()[k].clone().requires_grad_() for b in stack.biases]
        reference.append((weights, others, _torch_optimizer(run, weights, others)))
    generator = torch.Generator().manual_seed(seed)
    for step in range(steps):
        grads = [torch.randn(g.shape, generator=generator) for g in stack.grads]
        for g, new in zip(stack.grads, grads):
            g.copy_(new)
        optimizer.step()
        for k, (weights, others, opt) in enumerate(reference):
            for p, g in zip(weights + others, grads):
                p.grad = g[k].clone()
            opt.step()
            for p, mine in zip(weights + others, stack.weights + stack.biases):
                assert _bits_equal(p.detach(), mine.detach()[k]), (runs[k].optimizer, k, step)
    return optimizer.rules


@pytest.mark.parametrize(("name", "weight_decay", "mixed"),
                         list(itertools.product(OPTIMIZERS, [0.0, 0.05], [False, True])))
def test_update_rules_are_torch_optim_bit_for_bit(name: str, weight_decay: float, mixed: bool) -> None:
    """The flat update of a stack (and, beside another rule, its per-run rows) against torch.optim: 20 steps
    with random gradients, every parameter equal bit for bit after each."""
    spec = {"optimizer": name, "lr": "0.05", "momentum": "0.8", "weight_decay": str(weight_decay)}
    other = {"optimizer": "adam", "lr": "0.01"} if mixed else spec
    runs = [engine.parse_run({**spec, "seed": "1"}), engine.parse_run({**other, "seed": "2"}),
            engine.parse_run({**spec, "seed": "3"})]
    _updates_match_torch_optim(runs, [2, 5, 3, 3], seed=0)


@pytest.mark.parametrize("name", ["sgd", "momentum", "nesterov"])
def test_the_sgd_family_with_a_number_per_run_is_torch_optim_bit_for_bit(name: str) -> None:
    """A search's block: runs of one rule with their own lr, weight decay (0 in one) and momentum, updated
    with a column per number, each run equal bit for bit to torch.optim with its own numbers."""
    from engine.nets.optimizers import ColumnRule

    numbers = [("0.05", "0.8", "0.0"), ("0.3", "0.5", "0.001"), ("0.0007", "0.95", "0.03"), ("1.7", "0.9", "1e-06")]
    runs = [engine.parse_run({"optimizer": name, "lr": lr, "momentum": m, "weight_decay": wd, "seed": str(seed)})
            for seed, (lr, m, wd) in enumerate(numbers)]
    rules = _updates_match_torch_optim(runs, [3, 6, 5, 2], seed=1)
    assert [type(rule) for rule in rules] == [ColumnRule]  # one block, not one per run


def test_the_mappings_cover_every_activation() -> None:
    """The bit-for-bit test above sees each activation of the vocabulary, alone or beside others."""
    seen = {value for mapping in MAPPINGS for key, value in mapping.items() if key.endswith("activation")}
    assert seen == set(ACTIVATIONS)


@pytest.mark.parametrize("mapping", [MAPPINGS[1], MAPPINGS[4], {"hidden": "6,6", "optimizer": "adam", "l1": "0.01"}])
def test_the_switch_trains_the_same_numbers_through_autograd(mapping: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    """USE_FAST_PATH off: every stack trains through the reference path (autograd), and a whole run, probes,
    histograms and weights included, comes out the same bit for bit."""
    group = engine.parse_group({"samples": "200", "steps": "40", "probe_every": "7", **mapping})
    fast = engine.train(group)
    monkeypatch.setattr(stack_module, "USE_FAST_PATH", False)
    trainer = GroupTrainer(group)
    assert all(stack.fast_path is None for stack in trainer.stacks)
    reference = engine.train(group)
    for table in ("scalars", "layers", "hists"):
        assert getattr(fast, table).equals(getattr(reference, table)), table
    for run_id, state in fast.weights.items():
        for name, tensor in state.items():
            assert _bits_equal(tensor, reference.weights[run_id][name]), (run_id, name)
