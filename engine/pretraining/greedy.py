"""Greedy layer-wise pre-training of a group's runs, in slices, before fine-tuning starts.

Runs of one stack that pre-train alike (same method, epochs per layer, CD-k and chains) form a cohort and are
pre-trained together, batched over runs like training ([K, in, out] weights). For each hidden layer l in turn:
the codes of layers 1..l-1 (frozen: computed once, from the net's own weights and activations) for every
training input are the data; an autoencoder (engine/pretraining/autoencoder.py) or an RBM
(engine/pretraining/rbm.py) trains layer l's weights and biases on them for `pretrain_epochs` epochs of
plain SGD (batches of the group's batch_size, each run's own shuffle); then they are written into the stack and
a linear probe (engine/pretraining/probe.py) scores the layer's code. The output layer is not pre-trained.
A layer's input is "in [0, 1]" when every training value of it for that run is: then Bernoulli visible units
or cross-entropy, else Gaussian visible units or squared error.

`advance(budget)` spends at most `budget` minibatch updates; `phase` says where it is in words; `rows` is the
tidy table (run, layer, epoch, metric, value) built as it goes (epoch 0: before the layer's first update).
"""

from __future__ import annotations

import pandas as pd
import torch

from engine.nets import activations
from engine.nets.stack import Stack
from engine.pretraining.autoencoder import BatchedAutoencoder
from engine.pretraining.noise import RunNoise
from engine.pretraining.probe import probe_scores
from engine.pretraining.rbm import BatchedRBM
from engine.vocabulary.layers import layer_names

COLUMNS = ["run", "layer", "epoch", "metric", "value"]
MONITOR_POINTS = 256  # the per-epoch metrics are measured on this many training (and validation) points
VAL_POINTS = 1024  # the probe scores at most this many validation points, like training's validation
# Unbounded inputs (Gaussian visible units, squared error) learn at this share of pretrain_lr: their gradients
# grow with the inputs' scale, and Hinton's practical guide to RBMs (2010) advises a rate one to two orders of
# magnitude smaller for Gaussian visible units than for binary ones.
UNBOUNDED_LR_SCALE = 0.1
FANTASY_COUNT, FANTASY_STEPS = 16, 200  # RBM samples drawn after layer 1's phase: how many, Gibbs steps each


class Cohort:
    """The runs of one stack (local indices `local`) that pre-train alike, from layer h1 to the last hidden."""

    def __init__(self, stack: Stack, local: list[int], run_ids: list[str], data, batch_size: int):
        runs = [stack.runs[i] for i in local]
        self.stack, self.run_ids, self.data = stack, run_ids, data
        self.index = torch.tensor(local)
        self.method, self.epochs = runs[0].pretrain, runs[0].pretrain_epochs
        self.cd_k, self.persistent = runs[0].cd_k, runs[0].persistent
        self.acts = [(r.activation, r.leak) for r in runs]
        self.lr = torch.tensor([r.pretrain_lr for r in runs]).view(-1, 1, 1)
        self.corruption = torch.tensor([r.corruption for r in runs]).view(-1, 1, 1)
        self.noise = RunNoise([r.seed for r in runs])
        self.names = layer_names(stack.depth)
        n = len(data.x_train)
        self.batch_size = min(batch_size, n)
        self.batches = n // self.batch_size
        self.layer, self.epoch, self.batch = 0, 1, 0
        self.model: BatchedAutoencoder | BatchedRBM | None = None
        self.rows: list[tuple] = []
        self.fantasies: dict[str, torch.Tensor] = {}

    @property
    def done(self) -> bool:
        return self.layer >= self.stack.depth

    @property
    def total_updates(self) -> int:
        return self.stack.depth * self.epochs * self.batches

    @property
    def updates_done(self) -> int:
        if self.done:
            return self.total_updates
        return (self.layer * self.epochs + self.epoch - 1) * self.batches + self.batch

    @property
    def phase(self) -> str:
        return f"pre-training {self.names[self.layer]}: epoch {self.epoch} of {self.epochs}"

    @torch.no_grad()
    def _codes(self, x: torch.Tensor, layers: int) -> torch.Tensor:
        """[K, n, width] outputs of the first `layers` hidden layers for inputs x [n, in], as the net computes."""
        h = x.unsqueeze(0).expand(len(self.index), -1, -1)
        for layer in range(layers):
            s = torch.baddbmm(self.stack.biases[layer][self.index], h, self.stack.weights[layer][self.index])
            h = torch.stack([activations.apply(name, s[k], leak) for k, (name, leak) in enumerate(self.acts)])
        return h

    def _start_layer(self) -> None:
        self.codes = self._codes(self.data.x_train, self.layer)
        self.val_codes = self._codes(self.data.x_val[:MONITOR_POINTS], self.layer)
        flat = self.codes.flatten(1)
        bounded = ((flat.min(1).values >= 0) & (flat.max(1).values <= 1)).view(-1, 1, 1)
        weight = self.stack.weights[self.layer][self.index]
        bias = self.stack.biases[self.layer][self.index]
        self.layer_lr = self.lr * torch.where(bounded, 1.0, UNBOUNDED_LR_SCALE)
        if self.method == "rbm":
            self.model = BatchedRBM(weight, bias, ~bounded, self.noise)
        else:
            self.model = BatchedAutoencoder(weight, bias, bounded, self.acts, self.corruption, self.noise)
        self._measure(epoch=0)

    def _measure(self, epoch: int) -> None:
        monitor = self.codes[:, :MONITOR_POINTS]
        with torch.no_grad():
            error = (self.model.reconstruct(monitor) - monitor).square().mean((1, 2))
            metrics = {"reconstruction_error": error}
            if self.method == "rbm":
                train_f = self.model.free_energy(monitor).mean(1)
                metrics["free_energy"] = train_f
                metrics["free_energy_gap"] = self.model.free_energy(self.val_codes).mean(1) - train_f
        self._add_rows(epoch, metrics)

    def _add_rows(self, epoch: int, metrics: dict[str, torch.Tensor]) -> None:
        for metric, values in metrics.items():
            for run_id, value in zip(self.run_ids, values.tolist()):
                self.rows.append((run_id, self.names[self.layer], epoch, metric, value))

    def _write_back(self) -> None:
        model = self.model
        with torch.no_grad():
            self.stack.weights[self.layer].index_copy_(0, self.index, model.weight.detach())
            hidden_bias = model.bias if isinstance(model, BatchedAutoencoder) else model.hidden_bias
            self.stack.biases[self.layer].index_copy_(0, self.index, hidden_bias.detach())

    def _end_layer(self) -> None:
        self._write_back()
        data = self.data
        n = data.n_labelled
        train_codes = self._codes(data.x_train[:n], self.layer + 1)
        val_codes = self._codes(data.x_val[:VAL_POINTS], self.layer + 1)
        scores = probe_scores(train_codes, data.y_train[:n], val_codes, data.y_val[:VAL_POINTS], data.n_classes)
        metric = "probe_accuracy" if data.n_classes else "probe_mse"
        self._add_rows(self.epochs, {metric: scores})
        if self.method == "rbm" and self.layer == 0:
            with torch.no_grad():
                samples = self.model.fantasies(FANTASY_COUNT, FANTASY_STEPS)
            self.fantasies = dict(zip(self.run_ids, samples))
        self.model, self.codes, self.val_codes = None, None, None
        self.layer, self.epoch, self.batch = self.layer + 1, 1, 0

    def advance(self, budget: int) -> int:
        """Spend up to `budget` minibatch updates; return how many were made."""
        used = 0
        while used < budget and not self.done:
            if self.model is None:
                self._start_layer()
            if self.batch == 0:
                self.order = self.noise.permutations(self.codes.shape[1])
            picked = self.order[:, self.batch * self.batch_size:(self.batch + 1) * self.batch_size]
            x = torch.gather(self.codes, 1, picked.unsqueeze(-1).expand(-1, -1, self.codes.shape[-1]))
            if self.method == "rbm":
                with torch.no_grad():
                    self.model.step(x, self.layer_lr, self.cd_k, self.persistent)
            else:
                self.model.step(x, self.layer_lr)
            used += 1
            self.batch += 1
            if self.batch == self.batches:
                self._measure(self.epoch)
                self.batch, self.epoch = 0, self.epoch + 1
                if self.epoch > self.epochs:
                    self._end_layer()
        if self.model is not None:
            self._write_back()  # a live view sees the layer as it learns
        return used


class Pretraining:
    """Every cohort of a group, one after another; empty (and free) when no run pre-trains."""

    def __init__(self, stacks: list[Stack], members: list[list[int]], ids: tuple[str, ...], data, batch_size: int):
        self.cohorts = []
        for stack, global_ids in zip(stacks, members):
            alike: dict[tuple, list[int]] = {}
            for local, run in enumerate(stack.runs):
                if run.pretrain != "none" and stack.depth > 0:
                    key = (run.pretrain, run.pretrain_epochs, run.cd_k if run.pretrain == "rbm" else 0,
                           run.persistent if run.pretrain == "rbm" else False)
                    alike.setdefault(key, []).append(local)
            for local in alike.values():
                self.cohorts.append(Cohort(stack, local, [ids[global_ids[i]] for i in local], data, batch_size))
        self.several = len(self.cohorts) > 1

    @property
    def done(self) -> bool:
        return all(c.done for c in self.cohorts)

    @property
    def total_updates(self) -> int:
        return sum(c.total_updates for c in self.cohorts)

    @property
    def updates_done(self) -> int:
        """Minibatch updates made so far (with total_updates: a progress bar)."""
        return sum(c.updates_done for c in self.cohorts)

    def rows_since(self, counts: list[int]) -> list[tuple]:
        """The table's rows each cohort added after its first counts[i] (a live view sends only what is new)."""
        return [row for cohort, n in zip(self.cohorts, counts) for row in cohort.rows[n:]]

    @property
    def phase(self) -> str:
        for cohort in self.cohorts:
            if not cohort.done:
                runs = f" (run {', '.join(cohort.run_ids)})" if self.several else ""
                return cohort.phase + runs
        return "pre-training done"

    def advance(self, budget: int) -> int:
        used = 0
        for cohort in self.cohorts:
            if used >= budget:
                break
            used += cohort.advance(budget - used)
        return used

    def table(self) -> pd.DataFrame:
        rows = [row for cohort in self.cohorts for row in cohort.rows]
        return pd.DataFrame(rows, columns=COLUMNS)

    def fantasies(self) -> dict[str, torch.Tensor]:
        """run id -> [FANTASY_COUNT, n_inputs] samples of each RBM run's first layer, in the net's input space."""
        return {run: samples for cohort in self.cohorts for run, samples in cohort.fantasies.items()}
