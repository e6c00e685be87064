"""The job runner: trains groups in worker processes and keeps, on the server, what they measure.

A job is one group (GroupTrainer) trained in a worker process (engine/serving/worker.py). Workers are started
with `spawn`, one per CPU core by default (`LAYERSCOPE_WORKERS` overrides); each hosts many jobs and
gives every running one a short turn in a round, so thirty jobs on two cores all move. Snapshots stream
back as they are made; one reader thread files them into each job's bounded History. The page polls
`job(job_id)` and `tables(job_id)`; it never waits on training. The other pieces: ARCHITECTURE.md, "Serving".

    runner = JobRunner()                       # one per server
    job_id = runner.start(group, session_id)   # identical configs share one job
    view = runner.job(job_id)                  # JobView: status, step, history, prediction, ...
    scalars, layers, hists, summary, findings = runner.tables(job_id)   # cached per view.version
    runner.pause(job_id); runner.resume(job_id); runner.step(job_id, 10); runner.stop(job_id)
    runner.reset(job_id)                       # a fresh trainer, same seed, same initial weights
    runner.weights(job_id)                     # {run id: state_dict}, fetched from the worker
    runner.release_session(session_id)         # the session ended: its jobs end after `grace_s`
    runner.shutdown()                          # also at interpreter exit

Sharing: a job is keyed by its config's fingerprint (`GroupConfig.fingerprint`), so a second viewer of
the same link subscribes to the existing job, whatever its state (a finished job is the same
deterministic result), unless it failed. Controls act on the shared job: every viewer sees them.

Statuses: engine/serving/views.py. Every limit is a field of `Limits` (engine/serving/cost.py, which also
estimates a job's cost and admits it or not); holding: sessions.py; lanes of workers: lanes.py. A worker runs at
most `jobs_per_worker` live jobs (a paused job holds its slot); more wait as `queued`, first come first served
within their lane. A job a session releases (Train with changed settings) that nobody else holds ends at once.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import multiprocessing
import os
import threading
import time
import uuid
from collections import deque
from dataclasses import replace
from typing import Any

import torch

from engine.serving.cost import Limits, Speed, admit, estimate
from engine.serving.errors import JobError, JobLimitError, UnknownJobError
from engine.serving.lanes import heavy_lane, pick_worker
from engine.serving.mirror import JobMirror
from engine.serving.pool import WORKERS_ENV, WorkerHandle, WorkerPool, default_workers
from engine.serving.protocol import Control, Pause, Resume, Step, Stop
from engine.serving.ray_workers import RayWorkerHandle, placement, ray_worker_count
from engine.serving.reader import Reader
from engine.serving.sessions import Sessions
from engine.serving.views import ENDED, LIVE, STATUSES, JobView, Points, Tables
from engine.serving.weights import WeightsRequests
from engine.serving.worker_events import WorkerEvents
from engine.training.data import make_dataset
from engine.vocabulary.group import GroupConfig

__all__ = ["ENDED", "LIVE", "STATUSES", "JobError", "JobLimitError", "JobRunner", "JobView", "Limits", "Points",
           "Tables", "UnknownJobError", "default_workers"]

log = logging.getLogger(__name__)


class JobRunner(WorkerEvents):
    """Worker processes and the jobs they train. Thread-safe; one per server.

    backend: where the workers run, "local" (processes) or "ray" (Ray actors, engine/serving/ray_workers.py);
    default: LAYERSCOPE_BACKEND, else local. workers: worker processes (default: `default_workers()`; on Ray,
    LAYERSCOPE_WORKERS or one per CPU of the cluster). limits: every limit (engine/serving/cost.py's
    `Limits`); keyword arguments named as its fields override single ones (`JobRunner(grace_s=5)`).
    publish_s: a running job's view changes at most this often (so viewers share views, tables and
    figures). weights_timeout_s: how long `weights` waits for the worker.
    """

    def __init__(self, workers: int | None = None, limits: Limits | None = None, *, publish_s: float = 0.5,
                 weights_timeout_s: float = 30.0, backend: str | None = None, **overrides: Any):
        self.backend = placement(backend)
        on_ray = self.backend == "ray"
        if workers is None:
            workers = ray_worker_count() if on_ray and not os.environ.get(WORKERS_ENV, "").strip() \
                else default_workers()
        self.workers = workers
        if self.workers < 1:
            raise JobError("at least one worker process is needed")
        self.limits = replace(limits or Limits(), **overrides)
        self.speed = Speed()  # estimated vs measured seconds per step, refined from every job's turns
        self.publish_s = publish_s
        self.weights_timeout_s = weights_timeout_s
        self._lock = threading.RLock()
        self._jobs: dict[str, JobMirror] = {}
        self._by_key: dict[str, str] = {}  # config fingerprint -> job id
        self._sessions = Sessions(self._jobs)
        self._queue: deque[str] = deque()
        self._weights = WeightsRequests(self._lock)
        self._closed = False
        self.trainings_started = 0  # new jobs; a viewer joining an identical config's job adds none
        first_heavy = self.workers - heavy_lane(self.workers, self.limits)
        self._pool = WorkerPool(multiprocessing.get_context("spawn"), self.workers,
                                niceness=lambda index: self.limits.heavy_niceness if index >= first_heavy else 0,
                                handle=RayWorkerHandle if on_ray else WorkerHandle)
        self._reader = Reader(self._pool, self._lock, closed=lambda: self._closed, on_message=self._on_message,
                              on_death=self._on_worker_death, on_tick=self._housekeeping)
        atexit.register(self.shutdown)

    # ------------------------------------------------------------------ public API

    def start(self, group: GroupConfig, session: str, *, paused: bool = False) -> str:
        """Subscribe `session` to the job of this config, starting one if there is none (or it failed).
        An existing job is shared as it is (its state is not changed). A new job runs at once, or with
        `paused` waits at step 0 (step it, or resume it). Raises JobLimitError past a limit."""
        key = group.fingerprint()
        with self._lock:
            self._check_open()
            job = self._shared(key)
            if job is not None:
                self._subscribe(job, session)
                return job.id
        cost = estimate(group)
        heavy = admit(cost, self.limits, heavy_lane(self.workers, self.limits), self.speed.factor)  # may raise
        data = make_dataset(group.base)  # outside the lock: digits loads scikit-learn the first time
        with self._lock:
            self._check_open()
            job = self._shared(key)  # another thread may have started it meanwhile
            if job is not None:
                self._subscribe(job, session)
                return job.id
            to_release = self._sessions.session_room(session, self.limits.max_session_jobs)  # may raise
            to_end = self._sessions.server_room(self.limits.max_jobs)
            if to_release is not None:
                self._changed(*self._sessions.unsubscribe(to_release, session))
            if to_end is not None:
                self._remove(to_end)
            job = JobMirror(uuid.uuid4().hex[:12], key, group, data)
            job.cost, job.heavy = cost, heavy
            self.trainings_started += 1
            job.start_pause_at = 0 if paused else None
            self._jobs[job.id] = job
            self._by_key[key] = job.id
            self._subscribe(job, session)
            self._queue.append(job.id)
            self._schedule()
            self._publish(job)
            return job.id

    def job(self, job_id: str) -> JobView | None:
        """The job's current view, or None if there is no such job (it may have been removed)."""
        with self._lock:
            job = self._jobs.get(job_id)
            return job.view if job is not None else None

    def tables(self, job_id: str) -> Tables:
        """(scalars, layers, hists, summary, findings) of the current view, built once per version."""
        view = self.job(job_id)
        if view is None:
            raise UnknownJobError(f"no job {job_id!r}")
        return view.tables()

    def pause(self, job_id: str) -> None:
        """Running: pauses after the current turn. Queued: it will start paused. Otherwise nothing."""
        with self._lock:
            job = self._get(job_id)
            if job.status == "queued":
                job.start_pause_at = 0
            elif job.status == "running":
                self._control(job, Pause, "paused")

    def resume(self, job_id: str) -> None:
        with self._lock:
            job = self._get(job_id)
            if job.status == "queued":
                job.start_pause_at = None
            elif job.status == "paused":
                self._control(job, Resume, "running")

    def step(self, job_id: str, n: int) -> None:
        """Advance exactly n more steps (from now, running or paused), then pause. A queued job will
        start with them. A job that reaches its last step finishes instead."""
        n = int(n)
        if n < 1:
            raise JobError(f"step needs a number of steps of at least 1, not {n}")
        with self._lock:
            job = self._get(job_id)
            if job.status == "queued":
                job.start_pause_at = n
            elif job.status in ("running", "paused"):
                self._control(job, Step, "running", n)

    def stop(self, job_id: str) -> None:
        """End the job where it is (status `stopped`, its numbers kept). Ended jobs are left alone."""
        with self._lock:
            job = self._get(job_id)
            if job.status == "queued":
                self._queue.remove(job.id)
                job.status = "stopped"
                job.run_status = ["stopped"] * len(job.run_status)
                self._changed(job, urgent=True)
                self._mark_queue()
            elif job.status in ("running", "paused"):
                self._control(job, Stop, "stopped")

    def reset(self, job_id: str, *, paused: bool = False) -> None:
        """Start the job again from scratch, whatever its state (failed included): a fresh GroupTrainer of
        the same config, so the same seed and initial weights. It runs at once (it queues if the workers
        are full), or with `paused` waits at step 0. Every viewer of the job sees the reset."""
        with self._lock:
            job = self._get(job_id)
            self._check_open()
            self._detach(job)
            job.restart(paused)
            if self._by_key.get(job.key) is None:
                self._by_key[job.key] = job.id
            self._queue.append(job.id)
            self._changed(job, urgent=True)
            self._schedule()

    def weights(self, job_id: str, timeout: float | None = None) -> dict[str, dict[str, torch.Tensor]]:
        """{run id: state_dict} as the worker has them now (final weights for ended runs)."""
        with self._lock:
            waiter = self._weights.ask(self._get(job_id))
        return self._weights.wait(waiter, self.weights_timeout_s if timeout is None else timeout)

    def release(self, job_id: str, session: str) -> None:
        """The session no longer holds this job (nothing happens if it did not). Nobody else holds it: it ends
        at once (else it would train for nobody on a slot no session's limit counts; README.md, Limits)."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is not None:
                self._changed(*self._sessions.unsubscribe(job, session))
                if not job.subscribers:
                    self._remove(job)

    def release_session(self, session: str) -> None:
        """The session ended: it holds nothing any more. Jobs nobody holds end after the grace period."""
        with self._lock:
            self._changed(*self._sessions.end(session))

    def session_jobs(self, session: str) -> list[str]:
        """The job ids a session holds, oldest first."""
        with self._lock:
            return self._sessions.held(session)

    def stats(self) -> dict[str, Any]:
        """Counts for a status line or a health check."""
        with self._lock:
            counts = {s: 0 for s in STATUSES}
            for job in self._jobs.values():
                counts[job.status] += 1
            return {"backend": self.backend, "workers": len(self._pool.alive()), "jobs": len(self._jobs),
                    "sessions": len(self._sessions), "queued": len(self._queue), "statuses": counts,
                    "trainings_started": self.trainings_started,
                    "worker_pids": [w.process.pid for w in self._pool.workers]}

    def shutdown(self, timeout: float = 1.0) -> None:
        """Stop the workers (politely, then not) and the reader thread. Idempotent; runs at exit too."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            workers = list(self._pool.workers)
            self._weights.fail("the job runner is shutting down")
        with contextlib.suppress(Exception):
            atexit.unregister(self.shutdown)
        self._reader.wake()
        self._pool.stop(workers, timeout)
        self._reader.join(timeout)
        for w in workers:
            w.close()

    def __enter__(self) -> JobRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()

    # ------------------------------------------------------------------ bookkeeping (lock held)

    def _check_open(self) -> None:
        if self._closed:
            raise JobError("The job runner has shut down.")
        if self._pool.broken:
            raise JobError(self._pool.broken)

    def _get(self, job_id: str) -> JobMirror:
        job = self._jobs.get(job_id)
        if job is None:
            raise UnknownJobError(f"no job {job_id!r} (it may have ended after its viewers left)")
        return job

    def _shared(self, key: str) -> JobMirror | None:
        job = self._jobs.get(self._by_key.get(key, ""))
        return job if job is not None and job.status != "failed" else None

    def _subscribe(self, job: JobMirror, session: str) -> None:
        self._changed(*self._sessions.subscribe(job, session, self.limits.max_session_jobs))

    def _control(self, job: JobMirror, command: type[Control], status: str, *args: int) -> None:
        if job.control(command, status, *args):
            self._changed(job, urgent=True)

    def _schedule(self) -> None:
        """Give queued jobs free slots in their lane (engine/serving/lanes.py), first come first served within
        a lane, to the least loaded worker."""
        moved = False
        for job_id in list(self._queue):
            job = self._jobs[job_id]
            target = pick_worker(job, self._jobs, self._queue, self._pool.alive(), self.workers, self.limits)
            if target is None or self._closed:
                continue
            self._queue.remove(job_id)
            job.place(target)
            self._changed(job, urgent=True)
            moved = True
        if moved:
            self._mark_queue()

    def _mark_queue(self) -> None:
        for job_id in self._queue:  # their queue positions changed: shown at once, not at the next publish tick
            self._changed(self._jobs[job_id], urgent=True)

    def _detach(self, job: JobMirror) -> bool:
        """Take the job off its worker and out of the queue; True if it was queued."""
        job.detach()
        queued = job.id in self._queue
        if queued:
            self._queue.remove(job.id)
        return queued

    def _remove(self, job: JobMirror) -> None:
        if self._detach(job):
            self._mark_queue()
        self._jobs.pop(job.id, None)
        if self._by_key.get(job.key) == job.id:
            del self._by_key[job.key]
        self._sessions.forget(job)
        self._schedule()

    def _changed(self, *jobs: JobMirror, urgent: bool = False) -> None:
        for job in jobs:
            job.dirty = True
            if urgent or time.monotonic() - job.published_at >= self.publish_s:
                self._publish(job)

    def _publish(self, job: JobMirror) -> None:
        job.publish(self._queue.index(job.id) + 1 if job.id in self._queue else None)

    def _housekeeping(self) -> None:
        now = time.monotonic()
        for job in list(self._jobs.values()):
            if job.orphan_since is not None and now - job.orphan_since >= self.limits.grace_s:
                self._remove(job)
            elif job.dirty and now - job.published_at >= self.publish_s:
                self._publish(job)
        self._schedule()
