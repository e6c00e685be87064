"""The job runner's server-side mirror of one job: what its worker has reported so far, the commands that
keep the worker in step with it, and its published view.

The runner owns every mirror and changes it with its lock held; viewers only ever see the JobViews it
publishes (engine/serving/views.py).
"""

from __future__ import annotations

import math
import time
from dataclasses import replace
from typing import TYPE_CHECKING

from engine.serving.cost import Cost
from engine.serving.protocol import Control, Create, Drop, Progress
from engine.serving.views import JobView, Points
from engine.training.data import Dataset
from engine.training.history import History
from engine.training.predictions import Prediction
from engine.vocabulary.group import GroupConfig

if TYPE_CHECKING:
    from engine.serving.pool import WorkerHandle


class JobMirror:
    def __init__(self, job_id: str, key: str, group: GroupConfig, data: Dataset):
        self.id, self.key, self.group = job_id, key, group
        self.points = Points(data.raw_train, data.y_train.numpy(), data.raw_val, data.y_val.numpy())
        self.chance_loss = data.chance_loss()
        self.input_mean, self.input_std = data.mean.astype("float32"), data.std.astype("float32")
        self.subscribers: dict[str, None] = {}  # ordered set of session ids
        self.orphan_since: float | None = None
        self.worker: WorkerHandle | None = None
        self.gen = 0  # resets
        self.cseq = 0  # control commands sent
        self.acked = 0  # control commands the worker has confirmed
        self.start_pause_at: int | None = None  # for a queued job: None runs, n pauses at step n
        self.version = 0
        self.view: JobView | None = None
        self.dirty = False
        self.published_at = -math.inf
        self.latency_s: float | None = None
        self.cost: Cost | None = None  # estimated before it started (engine/serving/cost.py)
        self.heavy = False  # trains only in the heavy lane (engine/serving/lanes.py)
        self.clear("queued")

    def clear(self, status: str) -> None:
        k = len(self.group.runs)
        self.status = status
        self.run_status = [status] * k
        self.step = 0
        self.steps_per_s = 0.0
        self.message = ""
        self.history = History()
        self.ranges: dict = {}
        self.prediction: Prediction | None = None
        self.end_step: list[int | None] = [None] * k
        self.end_loss: list[float | None] = [None] * k
        self.phase = ""
        self.pretrain_progress = (0, 0)  # (updates done, updates in all)
        self.pretrain_rows: list[tuple] = []
        self.first_layer: dict = {}  # run id -> [width, n_inputs], the latest sent
        self.fantasies: dict = {}

    def place(self, worker: WorkerHandle) -> None:
        """Start the queued job on `worker` (running, or paused if it is to start paused)."""
        self.worker = worker
        worker.jobs.add(self.id)
        self.status = "paused" if self.start_pause_at == 0 else "running"
        self.run_status = ["running"] * len(self.run_status)
        worker.send(Create(self.id, self.gen, self.cseq, self.group, self.start_pause_at))
        self.acked = -1  # pending until the worker confirms the job exists

    def detach(self, drop: bool = True) -> None:
        """Take the job off its worker, and with `drop` tell the worker to forget it (not when it has already:
        the job failed there, or the worker died). Its weights are gone."""
        if self.worker is not None:
            if drop:
                self.worker.send(Drop(self.id))
            self.worker.jobs.discard(self.id)
            self.worker = None

    def restart(self, paused: bool) -> None:
        """A new generation, queued from scratch (detached first)."""
        self.gen += 1
        self.cseq = self.acked = 0
        self.clear("queued")
        self.start_pause_at = 0 if paused else None

    def control(self, command: type[Control], status: str, *args: int) -> bool:
        """Send a control to the worker and show its intent at once; True if the status changed."""
        self.cseq += 1
        self.worker.send(command(self.id, self.gen, self.cseq, *args))
        if self.status == status:
            return False
        self.status = status  # optimistic: the worker's acknowledgement confirms it
        return True

    def apply(self, progress: Progress) -> bool:
        """File an Update's progress; True when its status changed (publish at once). The worker's state
        is taken only once it had seen every control command (see engine/serving/protocol.py)."""
        probe_every = self.group.base.probe_every
        for snapshot in progress.snapshots:
            step = snapshot.step
            self.history.add(snapshot, index=step // probe_every if step % probe_every == 0 else None)
        if progress.ranges is not None:
            self.ranges = progress.ranges
        if progress.prediction is not None:
            self.prediction = progress.prediction
        self.phase = progress.phase
        self.pretrain_progress = (progress.pretrain_done, progress.pretrain_total)
        if progress.pretrain_rows:
            self.pretrain_rows = self.pretrain_rows + progress.pretrain_rows  # a new list: views keep theirs
        if progress.first_layer is not None:
            self.first_layer = progress.first_layer
        if progress.fantasies is not None:  # drawn in the net's (standardized) input space: shown in the data's
            self.fantasies = {run: samples * self.input_std + self.input_mean
                              for run, samples in progress.fantasies.items()}
        self.step = progress.step
        self.steps_per_s = progress.steps_per_s
        self.end_step, self.end_loss = progress.end_step, progress.end_loss
        self.latency_s = time.time() - progress.sent
        if progress.cseq != self.cseq:
            return False
        urgent = (progress.state != self.status or progress.statuses != self.run_status
                  or self.acked != self.cseq)
        self.acked = self.cseq
        self.status, self.run_status = progress.state, progress.statuses
        return urgent

    def fail(self, message: str) -> None:
        self.status = "failed"
        self.run_status = ["failed" if s in ("running", "queued") else s for s in self.run_status]
        self.message = message
        self.steps_per_s = 0.0
        self.acked = self.cseq

    def publish(self, queue_position: int | None) -> None:
        """A new version of the view: a copy of everything a viewer may read while the mirror moves on."""
        self.version += 1
        history = self.history
        self.view = JobView(
            id=self.id, group=self.group, version=self.version, status=self.status,
            run_statuses=dict(zip(self.group.ids, self.run_status)), step=self.step,
            steps=self.group.base.steps, steps_per_s=self.steps_per_s, message=self.message,
            history=replace(history, points=list(history.points)), hist_ranges=self.ranges,
            prediction=self.prediction, end_step=list(self.end_step), end_loss=list(self.end_loss),
            points=self.points, chance_loss=self.chance_loss, queue_position=queue_position,
            subscribers=len(self.subscribers), latency_s=self.latency_s, pending=self.acked != self.cseq,
            worker_pid=self.worker.process.pid if self.worker is not None else None,
            phase=self.phase, pretrain_progress=self.pretrain_progress, pretrain_rows=self.pretrain_rows,
            first_layer_weights=self.first_layer, fantasies=self.fantasies,
        )
        self.dirty = False
        self.published_at = time.monotonic()

