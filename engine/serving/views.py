"""What the page reads of a job: an immutable JobView per published version, and the Tables built from it.

Job statuses: `queued` (waiting for a worker slot), `running`, `paused`, and the ended ones `finished`
(every run finished or early-stopped; some may have diverged), `diverged` (every run diverged),
`stopped` and `failed` (the worker died or the job raised: see `message`). Per-run statuses
(`JobView.run_statuses`) are the trainer's: running, finished, diverged, early_stopped, stopped, plus
queued and failed.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from operator import itemgetter

import numpy as np
import pandas as pd

from engine.api import TrainingState, summarize_state
from engine.pretraining.greedy import COLUMNS as PRETRAIN_COLUMNS
from engine.training.history import History
from engine.training.predictions import Prediction
from engine.vocabulary.group import GroupConfig

LIVE = ("queued", "running", "paused")  # holds (or waits for) a worker slot
ENDED = ("finished", "diverged", "stopped", "failed")
STATUSES = LIVE + ENDED


@dataclass(frozen=True)
class Points:
    """The dataset's raw (unstandardized) points, for plotting under a prediction."""

    raw_train: np.ndarray  # [n, d]
    y_train: np.ndarray  # [n] class index, or the target for regression
    raw_val: np.ndarray
    y_val: np.ndarray


class Tables(tuple):
    """(scalars, layers, hists, summary, findings), as engine.train has them; `.version` is the version of
    the JobView they were built from (key figures by (job id, version))."""

    version: int
    scalars = property(itemgetter(0))
    layers = property(itemgetter(1))
    hists = property(itemgetter(2))
    summary = property(itemgetter(3))
    findings = property(itemgetter(4))

    def __new__(cls, parts: tuple, version: int) -> Tables:
        tables = super().__new__(cls, parts)
        tables.version = version
        return tables

    def __getnewargs__(self) -> tuple:
        return tuple(self), self.version


@dataclass(frozen=True, eq=False)
class JobView:
    """A job as published at one version: an immutable view, the same object for every viewer until the
    next version. A running job publishes at most every `publish_s`; status changes publish at once."""

    id: str
    group: GroupConfig
    version: int  # increments with every published change
    status: str  # one of STATUSES
    run_statuses: dict[str, str]  # run id -> the run's own status
    step: int  # steps trained
    steps: int  # steps configured
    steps_per_s: float  # measured over the last ~0.5 s of wall time (0 unless running)
    message: str  # why a job failed ("" otherwise)
    history: History  # a copy: the bounded snapshots, oldest first
    hist_ranges: dict[str, dict[str, np.ndarray]]  # run id -> kind -> [hidden layers, 2] bin ranges
    prediction: Prediction | None  # what the net computes (boundary, curve or confusion), ~1/s and at pauses
    end_step: list[int | None]  # per run: the step it ended at
    end_loss: list[float | None]
    points: Points
    chance_loss: float
    queue_position: int | None  # 1 = next to start; None unless queued
    subscribers: int  # sessions holding the job
    latency_s: float | None  # last update: worker sent -> filed here (seconds)
    pending: bool  # a control was sent and the worker has not confirmed it yet (status shows its intent)
    worker_pid: int | None  # the worker process hosting the job
    phase: str = ""  # "pre-training h2: epoch 3 of 10", "training", "done" ("" before the worker's first word)
    pretrain_progress: tuple[int, int] = (0, 0)  # pre-training's updates (done, in all); (0, 0): none
    pretrain_rows: list[tuple] = field(default_factory=list)  # the table's rows so far (never changed in place)
    first_layer_weights: dict[str, np.ndarray] = field(default_factory=dict)  # run id -> [width, n_inputs]
    fantasies: dict[str, np.ndarray] = field(default_factory=dict)  # rbm run -> [16, n_inputs] samples, raw units
    _cache: dict = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def ids(self) -> tuple[str, ...]:
        return self.group.ids

    @property
    def labels(self) -> tuple[str, ...]:
        return self.group.labels

    @property
    def probe_every(self) -> int:
        return self.group.base.probe_every

    @property
    def live(self) -> bool:
        return self.status in LIVE

    @property
    def done(self) -> bool:
        return self.status in ENDED

    @property
    def pretraining(self) -> bool:
        """Is the group still in its pre-training phase?"""
        done, total = self.pretrain_progress
        return done < total

    @property
    def pretrain(self) -> pd.DataFrame:
        """run, layer, epoch, metric, value: engine.train's pretrain table so far (built once per view)."""
        with self._lock:
            if "pretrain" not in self._cache:
                self._cache["pretrain"] = pd.DataFrame(self.pretrain_rows, columns=PRETRAIN_COLUMNS)
            return self._cache["pretrain"]

    def snapshots(self) -> list:
        return self.history.snapshots()

    def training_state(self) -> TrainingState:
        return TrainingState(group=self.group, snapshots=self.history.snapshots(), hist_ranges=self.hist_ranges,
                             statuses=list(self.run_statuses.values()), end_step=self.end_step,
                             end_loss=self.end_loss, chance_loss=self.chance_loss, step=self.step)

    def tables(self) -> Tables:
        """Built once per view (the first caller builds, the others wait and share)."""
        with self._lock:
            if "tables" not in self._cache:
                self._cache["tables"] = Tables(summarize_state(self.training_state()), self.version)
            return self._cache["tables"]
