"""What a job will cost before it starts, the server's limits in one place, and admission by cost.

A job's cost is estimated from its GroupConfig alone (no net is built):

    work per step     3 x parameters x batch_size multiply-adds per run (forward, and a backward of twice
                      that), at MACS_PER_S; plus a fixed cost per layer (op dispatch), and the probe's cost
                      (every activation entry of the probe set and gradient entry of the batch, the probe
                      set's and the validation forward, a fixed cost per layer) divided by probe_every
    memory            parameters x 4 bytes x (weights, gradients, the update rule's state), plus the
                      activations kept for the backward pass: batch x (sum of widths) x ACTIVATION_FLOATS,
                      or the probe pass's, if more: probe points x (sum of widths) x PROBE_COPIES

    pre-training      a one-off cost, spread over the run's steps: per hidden layer, pretrain_epochs passes over
                      the training inputs at PRETRAIN_MACS (autoencoder) or 2 cd_k + 4 (RBM) multiply-adds per
                      weight and input, plus the codes of the layers below once, and LAYER_S per minibatch
                      update; its memory is the cached codes (training points x widest layer, twice)

The constants are this machine's one-thread speeds (measured on a 2-core AMD EPYC; see README.md's table of
limits). The runner refines them while serving: each job's measured seconds per step (the worker times its
turns) updates `Speed`, a server-wide factor between the estimate and the truth, used for later admissions.

Admission (`admit`): a job estimated above `max_step_s` per step or `max_job_bytes` of memory is refused
with a JobLimitError that names its estimate and the limit; one above `heavy_step_s` is heavy and trains
only in the heavy lane (engine/serving/lanes.py); a server with one worker has no heavy lane and refuses
heavy jobs (a heavy step there would stall every other job on the server).
"""

from __future__ import annotations

import contextlib
import math
import os
from dataclasses import dataclass
from itertools import pairwise

from engine.serving.errors import JobLimitError
from engine.training.probes import PROBE_COPIES, probe_points
from engine.vocabulary.config import OPTIMIZER_STATE_TENSORS, RunConfig, layer_sizes, parameter_count
from engine.vocabulary.group import GroupConfig

MACS_PER_S = 1.0e10  # multiply-adds per second of one torch thread on large matrices
LAYER_S = 1.5e-4  # per layer and step: op dispatch, the optimizer's update
PROBE_LAYER_S = 1.2e-3  # per layer and probe: statistics and histograms, fixed part
PROBE_ENTRY_S = 3.0e-7  # per entry and probe (probe set's activations, batch's gradients): stats and histograms
VAL_POINTS = 1024  # a probe's validation forward uses at most this many points (engine/training/trainer.py)
DIGITS_POINTS = 1797  # scikit-learn's digits; other datasets have `samples` points
PRETRAIN_MACS = 6  # autoencoder, per weight and input: encoder and decoder forward, their backward
ACTIVATION_FLOATS = 6  # floats kept per unit and example: z, s, a, masks, gradients


@dataclass(frozen=True)
class Limits:
    """Every limit of the job runner, with its default (README.md has the table: limit, default, effect)."""

    max_session_jobs: int = 8  # live jobs one session holds; the next start is refused
    max_jobs: int = 64  # live jobs on the server; orphans end first to make room, then starts are refused
    jobs_per_worker: int = 16  # live jobs a worker hosts at once; more wait as `queued`
    grace_s: float = 60.0  # a job nobody holds after its session ended lives on this long (then it ends)
    heavy_step_s: float = 0.1  # estimated seconds per step above which a job is heavy: the heavy lane only
    max_step_s: float = 5.0  # estimated seconds per step above which a job is refused
    max_job_bytes: int = 2 << 30  # estimated memory above which a job is refused
    heavy_workers: int = 1  # workers of the heavy lane (at most all workers but one; none with one worker)
    heavy_jobs_per_worker: int = 4  # heavy jobs a heavy-lane worker hosts at once; more wait as `queued`
    heavy_niceness: int = 10  # the heavy lane's processes yield the CPU to the server and the light lane



def lower_priority(niceness: int) -> None:
    """Make this process `niceness` lower in priority than it is (a heavy-lane worker, a search, a word run);
    a platform without priorities runs it as it is."""
    if niceness:
        with contextlib.suppress(OSError):
            os.nice(niceness)

@dataclass(frozen=True)
class Cost:
    """A job's estimated work and memory (and, once measured, its true seconds per step)."""

    macs: float  # multiply-adds per training step
    step_s: float  # estimated seconds per step, probes included (before the server's speed factor)
    bytes: int  # memory while training

    def describe(self, factor: float = 1.0) -> str:
        return (f"about {_seconds(self.step_s * factor)} per training step ({self.macs:.2g} multiply-adds) "
                f"and {_bytes(self.bytes)} of memory")


def _run_cost(run: RunConfig, batch: int, train_points: int, probe_every: int) -> tuple[float, float, int]:
    params = parameter_count(run)
    widths = sum(layer_sizes(run)[1:])
    layers = len(run.hidden) + 1
    macs = 3.0 * params * batch
    probed = probe_points(1, list(run.hidden), train_points)
    probe_s = (layers * PROBE_LAYER_S + (probed + batch) * widths * PROBE_ENTRY_S  # the probe set's, the grads'
               + (VAL_POINTS + probed) * params / MACS_PER_S)
    step_s = macs / MACS_PER_S + layers * LAYER_S + probe_s / probe_every + _pretrain_s(run, batch, train_points)
    activations = max(batch * ACTIVATION_FLOATS, probed * PROBE_COPIES) * widths
    if run.pretrain != "none":
        activations = max(activations, 2 * train_points * max(layer_sizes(run)[:-1]))
    memory = 4 * (params * (2 + OPTIMIZER_STATE_TENSORS[run.optimizer]) + activations)
    return macs, step_s, memory


def _pretrain_s(run: RunConfig, batch: int, train_points: int) -> float:
    """Pre-training's seconds, spread over the run's steps (the runner's limits are per step)."""
    if run.pretrain == "none":
        return 0.0
    sizes = layer_sizes(run)[:-1]
    per_weight = PRETRAIN_MACS if run.pretrain == "autoencoder" else 2 * run.cd_k + 4
    macs = sum(run.pretrain_epochs * per_weight * a * b + a * b for a, b in pairwise(sizes)) * train_points
    updates = len(run.hidden) * run.pretrain_epochs * max(1, train_points // batch)
    return (macs / MACS_PER_S + updates * LAYER_S) / run.steps


def estimate(group: GroupConfig) -> Cost:
    base = group.base
    points = DIGITS_POINTS if base.dataset == "digits" else base.samples
    train_points = math.ceil(points * (1 - base.val_fraction))
    batch = max(1, min(base.batch_size, train_points))  # as BatchSampler
    parts = [_run_cost(run, batch, train_points, base.probe_every) for run in group.runs]
    return Cost(macs=sum(p[0] for p in parts), step_s=sum(p[1] for p in parts), bytes=sum(p[2] for p in parts))


class Speed:
    """The server's factor between estimated and measured seconds per step: a running geometric mean over
    jobs' measured steps (the worker times each turn), clamped so one odd measurement cannot refuse all."""

    WEIGHT = 0.2  # each measurement's share of the new factor
    LOW, HIGH = 0.25, 4.0
    MIN_STEP_S = 0.005  # measurements of faster steps are mostly dispatch noise: not used

    def __init__(self) -> None:
        self.factor = 1.0

    def observe(self, cost: Cost | None, measured_step_s: float) -> None:
        if cost is None or measured_step_s <= 0 or cost.step_s < self.MIN_STEP_S:
            return
        log_ratio = math.log(measured_step_s / cost.step_s)
        mixed = (1 - self.WEIGHT) * math.log(self.factor) + self.WEIGHT * log_ratio
        self.factor = min(self.HIGH, max(self.LOW, math.exp(mixed)))


def admit(cost: Cost, limits: Limits, heavy_lane: int, factor: float = 1.0) -> bool:
    """True if the job is heavy (the heavy lane only), False if light; raises JobLimitError if refused."""
    step_s = cost.step_s * factor
    if cost.bytes > limits.max_job_bytes:
        raise JobLimitError(f"This net would need {cost.describe(factor)}; this server allows "
                            f"{_bytes(limits.max_job_bytes)} per job (max_job_bytes). Use fewer or narrower "
                            "layers, fewer runs or a smaller batch_size.")
    if step_s > limits.max_step_s:
        raise JobLimitError(f"This net would need {cost.describe(factor)}; this server allows "
                            f"{_seconds(limits.max_step_s)} per step (max_step_s). Use fewer or narrower "
                            "layers, fewer runs, a smaller batch_size or a larger probe_every.")
    heavy = step_s > limits.heavy_step_s
    if heavy and heavy_lane < 1:
        raise JobLimitError(f"This net would need {cost.describe(factor)}; this server has one worker "
                            f"process, so it trains only jobs under {_seconds(limits.heavy_step_s)} per step "
                            "(heavy_step_s). Use a smaller net or batch_size, or a server with more cores.")
    return heavy


def _seconds(s: float) -> str:
    return f"{s * 1000:.0f} ms" if s < 1 else f"{s:.1f} s"


def _bytes(n: float) -> str:
    return f"{n / (1 << 30):.1f} GB" if n >= 1 << 30 else f"{n / (1 << 20):.0f} MB"
