"""Trials trained many at a time: a batch of trials that share the data, the seed and the batch order trains
in lock-step as one GroupTrainer, its trials with agreeing layer sizes in one stack (tens of runs, each with its
own hyperparameters), every number as if each trial had trained alone (engine/nets/stack.py's guarantee).

A trial measures only what a search reads: at each probe step its validation loss and accuracy and the
minibatch loss, not the layer statistics and histograms the pages draw (those cost far more than a small
net's step). Its outcome is its net at its best validation loss (the early-stopping point: early stopping
chooses how long to train by validation): that step's validation scores and weights, which the search scores
on the test split if, and only if, it chooses this trial.

`train_batch` is the unit a backend runs (engine/search/backend.py): a module-level function of one picklable
TrialBatch, returning picklable TrialResults. In this process it can also be given a `Live`, to poll a stop
and to report each trial's curve as it grows.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from engine.nets.optimizers import StackOptimizer
from engine.nets.stack import Recorder, Stack
from engine.training.data import Dataset, make_dataset
from engine.training.history import SCALARS
from engine.training.trainer import RUNNING, GroupTrainer
from engine.vocabulary.config import RunConfig
from engine.vocabulary.group import GroupConfig
from engine.vocabulary.layers import hidden_names, layer_names

MAX_BATCH = 64  # trials per lock-step batch: tens of runs per stack, memory still small on 3x32 nets
CHUNK_STEPS = 50  # steps between looks at a stop and reports of progress (well under 2 s on a small net)
REPORT_S = 0.5  # at most this often a batch reports its curves while it trains
_TRAIN_LOSS, _VAL_LOSS, _VAL_ACC = (SCALARS.index(c) for c in (("train", "loss"), ("val", "loss"),
                                                                ("val", "accuracy")))


@dataclass(frozen=True)
class TrialBatch:
    """Trials `indices` of a search with configs `configs`; all share GROUP_KEYS and seed (the caller's job)."""

    indices: tuple[int, ...]
    configs: tuple[RunConfig, ...]


@dataclass
class TrialResult:
    index: int
    config: RunConfig
    status: str = RUNNING  # engine/training/trainer.py's statuses: finished, early_stopped, diverged, stopped
    steps: int = 0  # where it ended (or has reached, while it trains)
    best_step: int | None = None  # the probe step with the lowest validation loss so far
    val_loss: float = math.nan  # at best_step
    val_accuracy: float = math.nan  # at best_step (NaN for regression)
    curve: list[tuple[int, float, float, float]] = field(default_factory=list)  # step, train loss, val loss, acc
    best_state: dict[str, torch.Tensor] | None = field(default=None, repr=False)  # the net at best_step


@dataclass
class Live:
    """What only an in-process run can be given: a stop to poll and a place to report partial results."""

    should_stop: Callable[[], bool] = lambda: False
    on_progress: Callable[[list[TrialResult]], None] | None = None


class _ValidationOnly:
    """A StackProbe's place in the trainer, measuring nothing: no layer statistics, no histograms."""

    def __init__(self, stack: Stack):
        self.k = stack.k

    def measure(self) -> tuple[torch.Tensor, dict[str, torch.Tensor], torch.Tensor]:
        return torch.zeros(self.k, 0), {}, torch.zeros(self.k)

    def after_update(self, stats: torch.Tensor) -> None:
        pass


class _RecordsNothing(Recorder):
    """A stack's recorder that never records: a search reads no layer statistics, so a probe step's backward
    pass keeps no per-layer gradients."""

    def start(self, values: bool = True, grads: bool = True) -> None:
        super().start(values=False, grads=False)


class _KeepsParametersBeforeUpdate:
    """A stack's optimizer that, at a probe step, first copies the parameters it is about to update: the net
    that step measured, which the trainer's early stopping only sees after the update."""

    def __init__(self, optimizer: StackOptimizer, trainer: GroupTrainer):
        self.optimizer, self.trainer = optimizer, trainer
        self.before = optimizer.stack.flat.detach().clone()

    def step(self) -> None:
        if self.trainer.step % self.trainer.probe_every == 0:
            self.before.copy_(self.optimizer.stack.flat.detach())
        self.optimizer.step()


class TrialTrainer(GroupTrainer):
    """A GroupTrainer of any number of runs that measures validation only and keeps each run's best net."""

    def __init__(self, group: GroupConfig, data: Dataset | None = None):
        super().__init__(group, data)
        self.probes = [_ValidationOnly(stack) for stack in self.stacks]
        for stack in self.stacks:
            stack.recorder = _RecordsNothing()
        self.optimizers = [_KeepsParametersBeforeUpdate(optimizer, self) for optimizer in self.optimizers]
        self.every_probe = True  # a search reads every evaluation, with or without early stopping
        self.best_loss = [math.inf] * len(group.runs)
        self.best_step: list[int | None] = [None] * len(group.runs)
        # Each stack's kept nets, in its own layout: rows of improved runs are copied in at a probe step.
        self.best_flat = [stack.flat.detach().clone() for stack in self.stacks]
        self.best_running = [[t.clone() for t in stack.running_mean + stack.running_var] for stack in self.stacks]

    def _early_stopping(self, val_loss: list[float]) -> None:
        # Called at a probe step after that step's update (none at the last step): each improved run keeps the
        # net measured, its parameters from before the update (batch norm's running statistics as they are).
        final = self.step >= self.steps
        for stack, members, optimizer, best, running in zip(self.stacks, self.members, self.optimizers,
                                                            self.best_flat, self.best_running):
            improved = [local for local, k in enumerate(members) if self.alive(k) and val_loss[k] < self.best_loss[k]]
            if not improved:
                continue
            rows = torch.tensor(improved)
            measured = stack.flat.detach() if final else optimizer.before
            with torch.no_grad():
                for param in stack.parameters():
                    view = (param.shape, param.stride(), param.storage_offset())
                    best.as_strided(*view)[rows] = measured.as_strided(*view)[rows]
                for kept, now in zip(running, stack.running_mean + stack.running_var):
                    kept[rows] = now[rows]
            for local in improved:
                k = members[local]
                self.best_loss[k], self.best_step[k] = val_loss[k], self.step
        super()._early_stopping(val_loss)

    def best_states(self) -> list[dict[str, torch.Tensor] | None]:
        """Each run's kept net in state_dict layout (None if never measured). Only once training has ended: it
        writes the kept nets into the stacks."""
        states: list[dict | None] = [None] * len(self.best_step)
        with torch.no_grad():
            for stack, members, best, running in zip(self.stacks, self.members, self.best_flat, self.best_running):
                stack.flat.copy_(best)
                for now, kept in zip(stack.running_mean + stack.running_var, running):
                    now.copy_(kept)
                for local, k in enumerate(members):
                    if self.best_step[k] is not None:
                        states[k] = stack.state_dict(local)
        return states


def trial_group(configs: tuple[RunConfig, ...]) -> GroupConfig:
    """The trials as one group. A Compare group holds at most 4 runs (MAX_RUNS); a search's batch holds tens,
    so it is built without that check; the batching (engine/search/run.py) keeps the group's real rule, that
    every run shares GROUP_KEYS (and here also the seed: data, split and batch order follow the first run's)."""
    ids = tuple(f"t{i}" for i in range(len(configs)))
    return GroupConfig.model_construct(runs=tuple(configs), labels=ids, ids=ids)


def _results(batch: TrialBatch, trainer: TrialTrainer, curves: list[list]) -> list[TrialResult]:
    out = []
    for k, (index, config) in enumerate(zip(batch.indices, batch.configs)):
        best = trainer.best_step[k]
        at_best = next((point for point in curves[k] if point[0] == best), None)
        out.append(TrialResult(
            index=index, config=config, status=trainer.status[k],
            steps=trainer.end_step[k] if trainer.end_step[k] is not None else trainer.step,
            best_step=best, val_loss=at_best[2] if at_best else math.nan,
            val_accuracy=at_best[3] if at_best else math.nan, curve=list(curves[k]),
        ))
    return out


def train_batch(batch: TrialBatch, live: Live | None = None) -> list[TrialResult]:
    """Train the batch's trials together to their ends (or a stop); each one's result, in batch order."""
    trainer = TrialTrainer(trial_group(batch.configs), make_dataset(batch.configs[0]))
    ids = list(trainer.ids)
    curves: list[list] = [[] for _ in batch.configs]
    reported = time.monotonic()
    while not trainer.done:
        if live is not None and live.should_stop():
            trainer.stop()
            break
        for snapshot in trainer.advance(CHUNK_STEPS):
            for row, run_id in zip(snapshot.scalars, snapshot.runs):
                point = (snapshot.step, float(row[_TRAIN_LOSS]), float(row[_VAL_LOSS]), float(row[_VAL_ACC]))
                curves[ids.index(run_id)].append(point)
        if live is not None and live.on_progress is not None and time.monotonic() - reported >= REPORT_S:
            live.on_progress(_results(batch, trainer, curves))
            reported = time.monotonic()
    results = _results(batch, trainer, curves)
    for result, state in zip(results, trainer.best_states()):
        result.best_state = state
    return results


def load_state(stack: Stack, k: int, state: dict[str, torch.Tensor]) -> None:
    """Write a state_dict (Stack.state_dict's layout and names) into run k of a stack."""
    with torch.no_grad():
        for name, weight, bias in zip(layer_names(stack.depth), stack.weights, stack.biases):
            weight[k].copy_(state[f"{name}.weight"].T)
            bias[k, 0].copy_(state[f"{name}.bias"])
        for i, name in enumerate(hidden_names(stack.depth)):
            if f"{name}.norm.weight" in state:
                stack.gammas[i][k, 0].copy_(state[f"{name}.norm.weight"])
                stack.betas[i][k, 0].copy_(state[f"{name}.norm.bias"])
            if f"{name}.norm.running_mean" in state:
                stack.running_mean[i][k, 0].copy_(state[f"{name}.norm.running_mean"])
                stack.running_var[i][k, 0].copy_(state[f"{name}.norm.running_var"])


def score(config: RunConfig, state: dict[str, torch.Tensor], x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    """(loss, accuracy) of the net `state` on points x, y in evaluation mode (accuracy NaN for regression)."""
    sizes = [x.shape[1], *config.hidden, state["out.bias"].shape[0]]
    stack = Stack([config], sizes, dropout_seed=config.seed)
    load_state(stack, 0, state)
    with torch.no_grad():
        logits = stack.forward(x, mode="eval")[0]
        if config.is_regression:
            return float((logits.squeeze(-1) - y).square().mean()), math.nan
        loss = torch.nn.functional.cross_entropy(logits, y)
        return float(loss), float((logits.argmax(dim=-1) == y).float().mean())
