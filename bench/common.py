"""Shared pieces of the benchmarks: one torch thread, interleaved timing, the plain PyTorch reference loop.

Every benchmark measures ratios inside one process: two contenders run in alternating blocks of steps
(the order flips every round, so drift in clock speed or cache state hits both alike), each round gives
one ratio of the two blocks' times, and the median of those is reported. Nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Mapping
from itertools import pairwise
from pathlib import Path
from typing import Any

import torch

torch.set_num_threads(1)  # as in the workers (ARCHITECTURE.md): one thread per process

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `python bench/run.py` puts bench/ on the path, not the repo root
    sys.path.insert(0, str(ROOT))

import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

import engine  # noqa: E402
from engine.training.data import BatchSampler, Dataset  # noqa: E402
from engine.training.trainer import GroupTrainer  # noqa: E402
from engine.vocabulary.config import RunConfig  # noqa: E402

LONG = 200_000  # the largest `steps`: a benchmark trainer never reaches its final step

# The nets the benchmarks use, as config mappings (everything else at its default).
DEFAULT_NET: dict[str, Any] = {}  # spiral, 32,32,32, tanh, default init, sgd lr 0.1, batch 32
DEEP_NET: dict[str, Any] = {"hidden": "10x32"}
# Where arithmetic weighs more than per-op dispatch: the probe's fixed cost weighs less.
WIDE_NET: dict[str, Any] = {"hidden": "8x64", "batch_size": 64}


def environment() -> dict[str, Any]:
    return {
        "torch": torch.__version__,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
    }


def make_trainer(mapping: Mapping[str, Any]) -> GroupTrainer:
    """A trainer for a group mapping (links' vocabulary) that will not finish during a benchmark."""
    return GroupTrainer(engine.parse_group({"steps": LONG, **mapping}))


# ---------------------------------------------------------------------- the plain PyTorch loop

ACTIVATION_MODULES: dict[str, Callable[[RunConfig], nn.Module]] = {
    "sigmoid": lambda r: nn.Sigmoid(),
    "tanh": lambda r: nn.Tanh(),
    "relu": lambda r: nn.ReLU(),
    "leaky_relu": lambda r: nn.LeakyReLU(r.leak),
    "elu": lambda r: nn.ELU(),
    "selu": lambda r: nn.SELU(),
    "gelu": lambda r: nn.GELU(),
    "swish": lambda r: nn.SiLU(),
    "softplus": lambda r: nn.Softplus(),
    "linear": lambda r: nn.Identity(),
}


def plain_optimizer(run: RunConfig, params: list[torch.Tensor]) -> torch.optim.Optimizer:
    """The torch optimizer a person would write for this run: same class and settings, torch's defaults
    otherwise (weight decay on every parameter, no foreach flag)."""
    wd = run.weight_decay
    if run.optimizer == "sgd":
        return torch.optim.SGD(params, lr=run.lr, weight_decay=wd)
    if run.optimizer in ("momentum", "nesterov"):
        return torch.optim.SGD(params, lr=run.lr, momentum=run.momentum, nesterov=run.optimizer == "nesterov",
                               weight_decay=wd)
    if run.optimizer == "adagrad":
        return torch.optim.Adagrad(params, lr=run.lr, weight_decay=wd)
    if run.optimizer == "rmsprop":
        return torch.optim.RMSprop(params, lr=run.lr, weight_decay=wd)
    if run.optimizer == "adam":
        return torch.optim.Adam(params, lr=run.lr, weight_decay=wd)
    return torch.optim.AdamW(params, lr=run.lr, weight_decay=wd)


class PlainLoop:
    """`nn.Sequential` of the same net, with the engine's initial weights, the engine's data tensors and
    batch order, cross-entropy, and `loss.backward(); opt.step(); opt.zero_grad()`. Nothing else."""

    def __init__(self, run: RunConfig, data: Dataset, initial_state: Mapping[str, torch.Tensor] | None = None):
        if run.norm != "none" or run.dropout > 0 or run.l1 > 0 or run.is_regression:
            raise ValueError("the plain reference loop covers classification nets without norm, dropout or l1")
        sizes = [data.n_inputs, *run.hidden, data.n_outputs]
        layers: list[nn.Module] = []
        linears: list[nn.Linear] = []
        for i, (fan_in, fan_out) in enumerate(pairwise(sizes)):
            linear = nn.Linear(fan_in, fan_out)
            linears.append(linear)
            layers.append(linear)
            if i < len(sizes) - 2:
                layers.append(ACTIVATION_MODULES[run.activation](run))
        if initial_state is not None:
            names = run.layer_names
            with torch.no_grad():
                for name, linear in zip(names, linears):
                    linear.weight.copy_(initial_state[f"{name}.weight"])
                    linear.bias.copy_(initial_state[f"{name}.bias"])
        self.net = nn.Sequential(*layers)
        self.opt = plain_optimizer(run, list(self.net.parameters()))
        self.x, self.y = data.x_train, data.y_train
        self.sampler = BatchSampler(len(data.x_train), run.batch_size, run.seed)

    def advance(self, n: int) -> None:
        net, opt, sampler, x_all, y_all = self.net, self.opt, self.sampler, self.x, self.y
        for _ in range(n):
            batch = sampler.next()
            x, y = x_all[batch], y_all[batch]
            loss = F.cross_entropy(net(x), y)
            loss.backward()
            opt.step()
            opt.zero_grad()


def plain_for(trainer: GroupTrainer, k: int = 0) -> PlainLoop:
    """The plain loop matching run k of a freshly built trainer (same initial weights, same batches)."""
    return PlainLoop(trainer.group.runs[k], trainer.data, trainer.state_dict(k))


# ---------------------------------------------------------------------- timing

def interleave(contenders: Mapping[str, Callable[[int], Any]], block: int, rounds: int,
               warmup_blocks: int = 1) -> dict[str, dict[str, list[float]]]:
    """Seconds per step of each contender, one value per round, as {"cpu": [...], "wall": [...]}.

    Contenders alternate block by block and the order flips every round. "cpu" is this process's CPU
    time (one torch thread, so it is the work done, and other processes on a busy machine do not count);
    "wall" is elapsed time. On an idle machine the two agree.
    """
    names = list(contenders)
    for _ in range(warmup_blocks):
        for name in names:
            contenders[name](block)
    times: dict[str, dict[str, list[float]]] = {name: {"cpu": [], "wall": []} for name in names}
    for r in range(rounds):
        for name in names if r % 2 == 0 else reversed(names):
            wall, cpu = time.perf_counter(), time.process_time()
            contenders[name](block)
            times[name]["cpu"].append((time.process_time() - cpu) / block)
            times[name]["wall"].append((time.perf_counter() - wall) / block)
    return times


def median(values: list[float]) -> float:
    return statistics.median(values)


def quartiles(values: list[float]) -> list[float]:
    if len(values) < 2:
        return [values[0], values[0]]
    q = statistics.quantiles(values, n=4, method="inclusive")
    return [q[0], q[2]]


def time_ratio(times: Mapping[str, Mapping[str, list[float]]], numerator: str, denominator: str,
               clock: str = "cpu") -> tuple[float, list[float]]:
    """Median and quartiles of the per-round ratios numerator / denominator of the time per step on one
    clock. A round's two blocks ran back to back, so a slow spell of the machine mostly cancels out."""
    paired = [n / d for n, d in zip(times[numerator][clock], times[denominator][clock])]
    return median(paired), quartiles(paired)


def rnd(x: float, digits: int = 3) -> float:
    """Round to `digits` significant digits (keeps the JSON readable)."""
    return float(f"{x:.{digits}g}")


# ---------------------------------------------------------------------- command line

def parse_args(description: str, argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="a few seconds: keeps the benchmark working in CI")
    return parser.parse_args(argv)


def main_of(name: str, doc: str, run: Callable[[bool], Any]) -> Callable[[list[str] | None], None]:
    """The `python -m bench.<name>` entry point of one benchmark: parse --quick, run, print JSON."""

    def main(argv: list[str] | None = None) -> None:
        args = parse_args(doc.splitlines()[0], argv)
        emit({"environment": environment(), "quick": args.quick, name: run(args.quick)})

    return main


def emit(document: Mapping[str, Any]) -> None:
    json.dump(document, sys.stdout, indent=2)
    sys.stdout.write("\n")
    sys.stdout.flush()
