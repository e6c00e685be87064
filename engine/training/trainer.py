"""Train a group of K runs in lock-step on the same batches, probing at probe steps.

Runs are split into stacks of equal layer sizes (one batched computation each). A step draws one
batch for everybody and, stack by stack, runs it forward, takes the gradient of the sum of the per-run
losses with respect to the logits, and runs the stack's backward pass (engine/nets/stack.py); each run's gradient
depends only on its own loss, so the sum changes nothing but the cost. Every number is the one autograd
gives for the whole group's summed loss, bit for bit.
A run whose loss turns non-finite ends as `diverged` at that step (its final weights are kept as
they were); an early-stopped run ends likewise; the others go on.

Probe step s measures the net before update s: its gradients on the batch of step s, and what it does to
the probe set (engine/training/probes.py); step 0 is the initial net, and a last probe at s == steps
measures the trained net without updating it.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from engine.nets.lsuv import apply_lsuv
from engine.nets.optimizers import StackOptimizer
from engine.nets.stack import Stack
from engine.pretraining.greedy import Pretraining
from engine.training.data import BatchSampler, Dataset, make_dataset
from engine.training.history import SCALARS, History, Snapshot
from engine.training.planted import ShuffledLabels, softmax_first, softmax_mask
from engine.training.probes import PROBE_POINTS, StackProbe
from engine.vocabulary.group import GroupConfig

_ATEN = torch.ops.aten
_NONE, _MEAN, _IGNORE = 0, 1, -100  # nll_loss's reduction codes and F.cross_entropy's ignore_index

KEEP_WORKSPACE_BYTES = 16 * 2**20  # training buffers a stack keeps between slices (engine/nets/stack.py)
VAL_EVAL_MAX = 1024  # validation metrics use the first 1,024 held-out points at most, to bound probe cost
RUNNING, FINISHED, DIVERGED, EARLY_STOPPED, STOPPED = "running", "finished", "diverged", "early_stopped", "stopped"


class GroupTrainer:
    def __init__(self, group: GroupConfig, data: Dataset | None = None):
        self.group = group
        self.ids = group.ids
        base = group.base
        self.steps = base.steps
        self.probe_every = base.probe_every
        self.data = data if data is not None else make_dataset(base)
        self.sampler = BatchSampler(self.data.n_labelled, base.batch_size, base.seed)
        self.classification = self.data.n_classes > 0
        self.x_val = self.data.x_val[:VAL_EVAL_MAX]
        self.y_val = self.data.y_val[:VAL_EVAL_MAX]

        sizes_of = {}
        for k, run in enumerate(group.runs):
            sizes = (self.data.n_inputs, *run.hidden, self.data.n_outputs)
            sizes_of.setdefault(sizes, []).append(k)
        self.stacks: list[Stack] = []
        self.members: list[list[int]] = []  # global run indices of each stack
        for sizes, members in sizes_of.items():
            stack = Stack([group.runs[k] for k in members], list(sizes), dropout_seed=base.seed)
            self.stacks.append(stack)
            self.members.append(members)
        first_batch = self.data.x_train[self.sampler.order[: self.sampler.batch_size]]
        for stack in self.stacks:
            apply_lsuv(stack, first_batch)
        # Greedy layer-wise pre-training (engine/pretraining/greedy.py) comes first, in advance's slices; runs
        # without it wait at step 0. It writes the stacks' weights before the optimizers or probes see them.
        self.pretraining = Pretraining(self.stacks, self.members, self.ids, self.data, base.batch_size)
        self.optimizers = [StackOptimizer(stack) for stack in self.stacks]
        self.probes = [StackProbe(stack, self.data.x_train[:PROBE_POINTS]) for stack in self.stacks]
        self.every_probe = any(run.early_stopping for run in group.runs)
        # Planted training-level bugs (engine/training/planted.py); None and {} when no run has one.
        self.shuffled = ShuffledLabels.for_group(group, self.data)
        self._softmax_first = {tuple(m): softmax_mask(group, m) for m in self.members}

        k = len(group.runs)
        self.step = 0
        self.status = [RUNNING] * k
        self.end_step = [None] * k
        self.end_loss: list[float | None] = [None] * k
        self.final_state: list[dict | None] = [None] * k
        self.best_val = [float("inf")] * k
        self.evals_since_best = [0] * k
        self.history = History()
        self.stopped = False
        self.ended = False  # has any run ended (so some losses no longer count)?
        self._seeds: dict[tuple, torch.Tensor] = {}  # see _loss_and_grad
        self._targets: dict[tuple[int, int], torch.Tensor] = {}
        self._val_targets: dict[int, torch.Tensor] = {}  # y_val.repeat(K) per stack size K
        size = self.sampler.batch_size  # every batch: the buffers each step's batch is copied into
        self._x = torch.empty(size, *self.data.x_train.shape[1:], dtype=self.data.x_train.dtype)
        self._y = torch.empty(size, *self.data.y_train.shape[1:], dtype=self.data.y_train.dtype)

    # ------------------------------------------------------------------ state

    @property
    def done(self) -> bool:
        return self.stopped or all(s != RUNNING for s in self.status)

    def alive(self, k: int) -> bool:
        return self.status[k] == RUNNING

    def stop(self) -> None:
        for k in range(len(self.status)):
            if self.alive(k):
                self._end(k, STOPPED, None)
        self.stopped = True

    def state_dict(self, k: int) -> dict[str, torch.Tensor]:
        if self.final_state[k] is not None:
            return self.final_state[k]
        for stack, members in zip(self.stacks, self.members):
            if k in members:
                return stack.state_dict(members.index(k))
        raise IndexError(k)

    def _end(self, k: int, status: str, loss: float | None) -> None:
        self.final_state[k] = self.state_dict(k)
        self.ended = True
        self.status[k] = status
        self.end_step[k] = self.step
        self.end_loss[k] = loss

    # ------------------------------------------------------------------ training

    @property
    def phase(self) -> str:
        """Where the group is, in words: "pre-training h2: epoch 3 of 10", "training" or "done"."""
        if not self.pretraining.done:
            return self.pretraining.phase
        return "done" if self.done else "training"

    @property
    def work_done(self) -> int:
        """Units of work spent so far, as `advance` counts them: pre-training's minibatch updates, then steps.
        Pause and Step count in these, so Step 10 during pre-training is 10 of its updates, not all of it."""
        return self.pretraining.updates_done + self.step

    def advance(self, n: int) -> list[Snapshot]:
        """Spend n units of work: pre-training's minibatch updates first, while any run pre-trains, then
        training steps (fewer if the group ends); return the snapshots made.
        The last probe step of the slice is always measured, so a live view is never stale."""
        made = []
        if not self.pretraining.done and not self.stopped:
            n -= self.pretraining.advance(n)
            if not self.pretraining.done or n <= 0 or self.stopped:
                return made
        last_probe = (self.step + n - 1) // self.probe_every * self.probe_every
        for _ in range(n):
            if self.done:
                break
            snapshot = self._one_step(fresh=self.step == last_probe)
            if snapshot is not None:
                made.append(snapshot)
        for stack in self.stacks:  # a group waiting for its next slice keeps no big activation buffers
            stack.release_workspace(KEEP_WORKSPACE_BYTES)
        return made

    def run(self) -> None:
        while not self.done:
            self.advance(1000)

    def _wanted(self, step: int, fresh: bool) -> bool:
        """Probe step `step`? Probes the bounded history would drop are skipped: once it has thinned
        to every 8th probe, measuring the other 7 only costs time. Early stopping counts every
        evaluation, so groups that use it measure every probe step."""
        if step % self.probe_every:
            return False
        return fresh or self.every_probe or self.history.keeps(step // self.probe_every)

    def _one_step(self, fresh: bool = False) -> Snapshot | None:
        step = self.step
        final = step >= self.steps
        probing = final or self._wanted(step, fresh)
        batch = self.sampler.next()
        x, y = self._x, self._y  # the same buffers every step (a stack keeps views of x)
        torch.index_select(self.data.x_train, 0, batch, out=x)
        torch.index_select(self.data.y_train, 0, batch, out=y)

        loss_values: list[float] = []
        accuracies = []
        with torch.no_grad():
            for stack, members in zip(self.stacks, self.members):
                if probing:  # the minibatch's dL/dz; the probe set's values come from a pass of their own
                    stack.recorder.start(values=False, grads=True)
                targets = y if self.shuffled is None else self.shuffled.targets(y, batch, members)
                logits = stack.train_forward(x)
                loss, grad = self._loss_and_grad(logits, targets, members)
                stack.train_backward(grad)
                loss_values.extend(loss.tolist())
                accuracies.append(self._accuracy(logits, targets) if probing else None)

            measured, validation = [], None
            if probing:
                for probe in self.probes:
                    measured.append(probe.measure())
                validation = self._validate()  # before the update, like every other number of this step

            for k, loss_k in enumerate(loss_values):
                if self.alive(k) and not math.isfinite(loss_k):
                    self._end(k, DIVERGED, loss_k)

            if not final:
                for optimizer in self.optimizers:
                    optimizer.step()

        snapshot = None
        if probing:
            if not final:
                for probe, (stats, _, _) in zip(self.probes, measured):
                    probe.after_update(stats)
            snapshot = self._snapshot(step, measured, loss_values, accuracies, validation)
            for stack in self.stacks:
                stack.recorder.stop()

        if final:
            for k in range(len(self.status)):
                if self.alive(k):
                    self._end(k, FINISHED, loss_values[k])
        else:
            self.step += 1
        return snapshot

    def _loss_and_grad(self, logits: torch.Tensor, y: torch.Tensor,
                       members: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-run loss [K] (`_loss`) and the gradient of the group's objective with respect to the logits:
        the sum of the live runs' losses (ended runs keep computing, cheaper than re-stacking, but add
        nothing). Cross-entropy by hand, with the ATen calls of autograd's formulas (log_softmax, nll_loss,
        mean, sum; bit for bit); mean squared error, and the loss of a planted softmax_twice, through autograd from a
        detached copy of the logits."""
        alive = None if not self.ended else [self.alive(k) for k in members]
        live = None if alive is None or all(alive) else torch.tensor(alive)
        if not self.classification or self._softmax_first.get(tuple(members)) is not None:
            with torch.enable_grad():
                leaf = logits.detach().requires_grad_()
                loss = self._loss(leaf, y, members=members)
                objective = loss.sum() if live is None else torch.where(live, loss, 0.0).sum()
                (grad,) = torch.autograd.grad(objective, leaf)
            return loss.detach(), grad
        k, b = logits.shape[0], logits.shape[1]
        key = (k, b, None if live is None else tuple(alive))
        seed = self._seeds.get(key)
        if seed is None:  # d objective / d loss (k = 1), or mean's backward: that over b per sample
            weights = torch.ones(k, dtype=logits.dtype)
            if live is not None:
                weights = torch.where(live, weights, 0.0)
            seed = weights[0] if k == 1 else (weights.unsqueeze(1).expand(k, b) / b).view(k * b)
            self._seeds[key] = seed
        if k == 1:  # F.cross_entropy(logits[0], y).view(1)
            y = y.view(-1)  # [B], or one run's shuffled labels [1, B]
            log_probs = torch._log_softmax(logits[0], 1, False)
            loss, total_weight = _ATEN.nll_loss_forward(log_probs, y, None, _MEAN, _IGNORE)
            grad = _ATEN.nll_loss_backward(seed, log_probs, y, None, _MEAN, _IGNORE, total_weight)
            grad = torch._log_softmax_backward_data(grad, log_probs, 1, log_probs.dtype)
            return loss.view(1), grad.unsqueeze(0)
        # F.cross_entropy(logits.reshape(k * b, -1), y.repeat(k), reduction="none").view(k, b).mean(dim=1)
        targets = self._targets.get((k, b))
        if targets is None:
            targets = self._targets[(k, b)] = torch.empty(k, b, dtype=y.dtype)
        targets.copy_(y)  # y.repeat(k), into a buffer
        targets = targets.view(k * b)
        log_probs = torch._log_softmax(logits.view(k * b, -1), 1, False)
        per_sample, total_weight = _ATEN.nll_loss_forward(log_probs, targets, None, _NONE, _IGNORE)
        loss = per_sample.view(k, b).mean(dim=1)
        grad = _ATEN.nll_loss_backward(seed, log_probs, targets, None, _NONE, _IGNORE, total_weight)
        grad = torch._log_softmax_backward_data(grad, log_probs, 1, log_probs.dtype)
        return loss, grad.view(k, b, -1)

    def _loss(self, logits: torch.Tensor, y: torch.Tensor, repeated: torch.Tensor | None = None,
              members: list[int] | None = None) -> torch.Tensor:
        """Per-run mean loss [K]: cross-entropy over softmax outputs, or mean squared error.
        `repeated`, if given, is y.repeat(K) made earlier; y may be [K, B], one row per run (shuffled labels);
        `members` (the stack's runs) says which runs take softmax first (a planted bug)."""
        k, b = logits.shape[0], logits.shape[1]
        if not self.classification:
            return (logits.squeeze(-1) - y).square().mean(dim=1)
        mask = self._softmax_first.get(tuple(members)) if members is not None else None
        if mask is not None:
            logits = softmax_first(logits, mask)
        if y.dim() == 2:
            return F.cross_entropy(logits.reshape(k * b, -1), y.reshape(-1), reduction="none").view(k, b).mean(dim=1)
        if k == 1:
            return F.cross_entropy(logits[0], y).view(1)
        targets = y.repeat(k) if repeated is None else repeated
        return F.cross_entropy(logits.reshape(k * b, -1), targets, reduction="none").view(k, b).mean(dim=1)

    def loss(self, logits: torch.Tensor, y: torch.Tensor, members: list[int]) -> torch.Tensor:
        """Per-run loss [K] of a stack's logits, as training computes it, planted bugs included (the gradient
        check, engine/debugging/gradcheck.py, differentiates it by finite differences)."""
        return self._loss(logits, y, members=members)

    def _accuracy(self, logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor | None:
        if not self.classification:
            return None
        return (logits.detach().argmax(dim=-1) == y).float().mean(dim=1)

    @torch.no_grad()
    def _validate(self) -> tuple[list[float], list[float]]:
        losses, accuracies = [], []
        for stack, members in zip(self.stacks, self.members):
            logits = stack.evaluate(self.x_val)
            if stack.k not in self._val_targets:
                self._val_targets[stack.k] = self.y_val.repeat(stack.k)
            loss = self._loss(logits, self.y_val, self._val_targets[stack.k], members)
            accuracy = self._accuracy(logits, self.y_val)
            losses.extend(loss.tolist())
            accuracies.extend(accuracy.tolist() if accuracy is not None else [float("nan")] * stack.k)
        return losses, accuracies

    def _snapshot(self, step: int, measured: list, train_loss: list[float], train_acc: list,
                  validation: tuple[list[float], list[float]]) -> Snapshot:
        val_loss, val_acc = validation
        k_total = len(self.status)
        layers: list = [None] * k_total
        hists: list = [None] * k_total
        grad_norm = [0.0] * k_total
        train_accuracy = [float("nan")] * k_total
        for (stats, counts, norms), members, accuracy in zip(measured, self.members, train_acc):
            stats_np = stats.numpy()
            counts_np = {kind: c.numpy() for kind, c in counts.items()}
            norms_list = norms.tolist()
            accuracy_list = accuracy.tolist() if accuracy is not None else None
            for local, k in enumerate(members):
                layers[k] = stats_np[local].astype(np.float32)
                # int32 copies: counts never exceed batch x width, and a view would pin the whole group's array
                hists[k] = {kind: c[local].astype(np.int32) for kind, c in counts_np.items()}
                grad_norm[k] = norms_list[local]
                if accuracy_list is not None:
                    train_accuracy[k] = accuracy_list[local]
        # A run that ended at this very step (diverged) still reports this last measurement.
        reporting = [k for k in range(k_total) if self.alive(k) or self.end_step[k] == step]
        lr = [self.group.runs[k].lr for k in range(k_total)]
        columns = {
            ("train", "loss"): train_loss, ("train", "accuracy"): train_accuracy,
            ("val", "loss"): val_loss, ("val", "accuracy"): val_acc,
            ("train", "grad_norm"): grad_norm, ("train", "lr"): lr,
        }
        scalars = np.array([[columns[c][k] for c in SCALARS] for k in reporting], dtype=np.float64)
        snapshot = Snapshot(
            step=step, runs=[self.ids[k] for k in reporting], scalars=scalars,
            layers=[layers[k] for k in reporting], hists=[hists[k] for k in reporting],
        )
        on_grid = step % self.probe_every == 0
        self.history.add(snapshot, index=step // self.probe_every if on_grid else None)
        self._early_stopping(val_loss)
        return snapshot

    def _early_stopping(self, val_loss: list[float]) -> None:
        for k, run in enumerate(self.group.runs):
            if not self.alive(k) or run.early_stopping == 0:
                continue
            if val_loss[k] < self.best_val[k]:
                self.best_val[k] = val_loss[k]
                self.evals_since_best[k] = 0
            else:
                self.evals_since_best[k] += 1
                if self.evals_since_best[k] >= run.early_stopping:
                    self._end(k, EARLY_STOPPED, val_loss[k])

    def first_layer_weights(self) -> dict[str, np.ndarray]:
        """run id -> [width, n_inputs]: each run's first layer now (on digits, one 8x8 image per unit)."""
        out = {}
        for stack, members in zip(self.stacks, self.members):
            weights = stack.weights[0].detach().transpose(1, 2).numpy().copy()
            out.update({self.ids[k]: weights[local] for local, k in enumerate(members)})
        return out

    def hist_ranges(self) -> dict[str, dict[str, np.ndarray]]:
        """run id -> kind -> [hidden layers, 2] bin-range edges (fixed after the first probe)."""
        out = {}
        for probe, members in zip(self.probes, self.members):
            ranges = probe.ranges()
            for local, k in enumerate(members):
                out[self.ids[k]] = {kind: r[local].numpy() for kind, r in ranges.items()}
        return out
