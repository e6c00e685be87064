"""The job runner: trains groups in worker processes and keeps, on the server, what they measure.

A job is one group (GroupTrainer) trained in a worker process (engine/serving/worker.py). Workers are started
with `spawn`, one per CPU core by default (`LAYERSCOPE_WORKERS` overrides); each hosts many jobs and
gives every running one a short turn in a round, so thirty jobs on two cores all move. Snapshots stream
back as they are made; one reader thread here files them into each job's bounded History. The page
polls `job(job_id)` and `tables(job_id)`; it never waits on training.

    runner = JobRunner()                       # one per server
    job_id = runner.start(group, session_id)   # identical configs share one job
    view = runner.job(job_id)                  # JobView: status, step, history, prediction, ...
    scalars, layers, hists, summary, findings = runner.tables(job_id)   # cached per view.version
    runner.pause(job_id); runner.resume(job_id); runner.step(job_id, 10); runner.stop(job_id)
    runner.reset(job_id)                       # a fresh trainer, same seed, same initial weights
    runner.weights(job_id)                     # {run id: state_dict}, fetched from the worker
    runner.release_session(session_id)         # the session ended: its jobs end after `grace_s`
    runner.shutdown()                          # also at interpreter exit

Job statuses: `queued` (waiting for a worker slot), `running`, `paused`, and the ended ones `finished`
(every run finished or early-stopped; some may have diverged), `diverged` (every run diverged),
`stopped` and `failed` (the worker died or the job raised: see `message`). Per-run statuses
(`JobView.run_statuses`) are the trainer's: running, finished, diverged, early_stopped, stopped, plus
queued and failed.

Sharing: a job is keyed by its config's fingerprint (`GroupConfig.fingerprint`), so a second viewer of
the same link subscribes to the existing job, whatever its state (a finished job is the same
deterministic result), unless it failed. Controls act on the shared job: every viewer sees them.

Limits: a session holds at most `max_session_jobs` jobs; starting another releases the session's
oldest ended job, and if all of them are still live (queued, running or paused) `start` raises
JobLimitError. The server holds at most `max_jobs` live jobs (orphans in their grace period are ended
first to make room). A worker runs at most `jobs_per_worker` live jobs (a paused job holds its slot);
more wait as `queued`, first come first served.
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import logging
import math
import multiprocessing
import multiprocessing.connection
import os
import signal
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field, replace
from operator import itemgetter
from typing import Any

import numpy as np
import torch

from engine.api import TrainingState, summarize_state
from engine.serving import worker as worker_module
from engine.training.data import Dataset, make_dataset
from engine.training.history import History
from engine.training.predictions import Prediction
from engine.vocabulary.group import GroupConfig

log = logging.getLogger(__name__)

LIVE = ("queued", "running", "paused")  # holds (or waits for) a worker slot
ENDED = ("finished", "diverged", "stopped", "failed")
STATUSES = LIVE + ENDED

WORKERS_ENV = "LAYERSCOPE_WORKERS"
TICK_S = 0.05  # the reader thread's housekeeping cadence (publishing, orphans, the queue)
MAX_FAILED_STARTS = 5  # workers in a row dying before they are ready: the pool gives up


class JobError(Exception):
    """A request the runner cannot serve; the message says why, in words for the page."""


class JobLimitError(JobError):
    """A limit (per session, per server) refused a new job; the message names the limit and its value."""


class UnknownJobError(JobError, KeyError):
    """No such job (never started, or ended and removed after its viewers left)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "no such job"


def default_workers() -> int:
    """LAYERSCOPE_WORKERS if set, else the CPU cores this process may use."""
    text = os.environ.get(WORKERS_ENV, "").strip()
    if text:
        try:
            value = int(text)
        except ValueError:
            raise JobError(f"{WORKERS_ENV}={text!r}: expected a whole number of worker processes") from None
        if value < 1:
            raise JobError(f"{WORKERS_ENV}={text!r}: at least one worker process is needed")
        return value
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


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


# ---------------------------------------------------------------------------------------------- internals


class _Worker:
    def __init__(self, ctx: Any, index: int):
        self.index = index
        self.commands = ctx.Queue()
        self.commands.cancel_join_thread()  # never hang the server's exit on a dead worker's queue
        self.conn, writer = ctx.Pipe(duplex=False)
        self.process = ctx.Process(target=worker_module.main, args=(index, self.commands, writer),
                                   name=f"layerscope-worker-{index}", daemon=True)
        self.process.start()
        writer.close()  # the worker holds the only writer: its death reads as EOF here
        self.alive = True
        self.ready = False  # it said hello: it imported everything and serves
        self.jobs: set[str] = set()  # hosted job ids (live and ended)

    def send(self, command: tuple) -> None:
        with contextlib.suppress(ValueError, OSError):  # closed queue of a worker being replaced
            self.commands.put(command)

    def close(self) -> None:
        for close in (self.conn.close, self.commands.close):
            with contextlib.suppress(OSError, ValueError):
                close()


class _Job:
    def __init__(self, job_id: str, key: str, group: GroupConfig, data: Dataset):
        self.id, self.key, self.group = job_id, key, group
        k = len(group.runs)
        self.points = Points(data.raw_train, data.y_train.numpy(), data.raw_val, data.y_val.numpy())
        self.chance_loss = data.chance_loss()
        self.subscribers: dict[str, None] = {}  # ordered set of session ids
        self.orphan_since: float | None = None
        self.worker: _Worker | None = None
        self.gen = 0  # resets
        self.cseq = 0  # control commands sent
        self.acked = 0  # control commands the worker has confirmed
        self.start_pause_at: int | None = None  # for a queued job: None runs, n pauses at step n
        self.version = 0
        self.view: JobView | None = None
        self.dirty = False
        self.published_at = -math.inf
        self.latency_s: float | None = None
        self.clear("queued", k)

    def clear(self, status: str, k: int) -> None:
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


def _exit_text(code: int | None) -> str:
    if code is None:
        return "it stopped answering"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        if -code == signal.SIGKILL:
            return f"it was killed ({name}; often the machine running out of memory)"
        return f"it was ended by {name}"
    return f"it exited with code {code}"


class JobRunner:
    """Worker processes and the jobs they train. Thread-safe; one per server.

    workers: worker processes (default: `default_workers()`). grace_s: how long a job nobody holds
    lives on. max_session_jobs / max_jobs / jobs_per_worker: the limits (see the module docstring).
    publish_s: a running job's view changes at most this often (so viewers share views, tables and
    figures). weights_timeout_s: how long `weights` waits for the worker.
    """

    def __init__(self, workers: int | None = None, grace_s: float = 60.0, *, max_session_jobs: int = 8,
                 max_jobs: int = 64, jobs_per_worker: int = 16, publish_s: float = 0.5,
                 weights_timeout_s: float = 30.0):
        self.workers = workers if workers is not None else default_workers()
        if self.workers < 1:
            raise JobError("at least one worker process is needed")
        self.grace_s = grace_s
        self.max_session_jobs = max_session_jobs
        self.max_jobs = max_jobs
        self.jobs_per_worker = jobs_per_worker
        self.publish_s = publish_s
        self.weights_timeout_s = weights_timeout_s
        self._ctx = multiprocessing.get_context("spawn")
        self._lock = threading.RLock()
        self._jobs: dict[str, _Job] = {}
        self._by_key: dict[str, str] = {}  # config fingerprint -> job id
        self._sessions: dict[str, list[str]] = {}  # session -> job ids, oldest first
        self._queue: deque[str] = deque()
        self._requests: dict[int, dict] = {}  # weights requests in flight
        self._request_ids = itertools.count(1)
        self._closed = False
        self._failed_starts = 0  # workers in a row that died before they were ready
        self.trainings_started = 0  # new jobs; a viewer joining an identical config's job adds none
        self._broken = ""  # why no worker can start, once that is clear
        self._wake_r, self._wake_w = self._ctx.Pipe(duplex=False)
        self._pool: list[_Worker] = [_Worker(self._ctx, i) for i in range(self.workers)]
        self._reader = threading.Thread(target=self._read_loop, name="layerscope-jobs-reader", daemon=True)
        self._reader.start()
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
        data = make_dataset(group.base)  # outside the lock: digits loads scikit-learn the first time
        with self._lock:
            self._check_open()
            job = self._shared(key)  # another thread may have started it meanwhile
            if job is not None:
                self._subscribe(job, session)
                return job.id
            to_release = self._session_room(session)  # raises JobLimitError: changes nothing yet
            to_end = self._server_room()
            if to_release is not None:
                self._unsubscribe(to_release, session)
            if to_end is not None:
                self._remove(to_end)
            job = _Job(uuid.uuid4().hex[:12], key, group, data)
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
                self._control(job, "pause", "paused")

    def resume(self, job_id: str) -> None:
        with self._lock:
            job = self._get(job_id)
            if job.status == "queued":
                job.start_pause_at = None
            elif job.status == "paused":
                self._control(job, "resume", "running")

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
                self._control(job, "step", "running", n)

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
                self._control(job, "stop", "stopped")

    def reset(self, job_id: str, *, paused: bool = False) -> None:
        """Start the job again from scratch, whatever its state (failed included): a fresh GroupTrainer of
        the same config, so the same seed and initial weights. It runs at once (it queues if the workers
        are full), or with `paused` waits at step 0. Every viewer of the job sees the reset."""
        with self._lock:
            job = self._get(job_id)
            self._check_open()
            self._detach(job)
            job.gen += 1
            job.cseq = job.acked = 0
            job.clear("queued", len(job.run_status))
            job.start_pause_at = 0 if paused else None
            if self._by_key.get(job.key) is None:
                self._by_key[job.key] = job.id
            self._queue.append(job.id)
            self._changed(job, urgent=True)
            self._schedule()

    def weights(self, job_id: str, timeout: float | None = None) -> dict[str, dict[str, torch.Tensor]]:
        """{run id: state_dict} as the worker has them now (final weights for ended runs)."""
        with self._lock:
            job = self._get(job_id)
            if job.status == "queued":
                raise JobError("The job has not started yet: it has no weights.")
            if job.worker is None:
                reason = job.message or "its worker process stopped"
                raise JobError(f"The weights of this job are gone ({reason}). Reset it to train again.")
            request = next(self._request_ids)
            waiter = {"event": threading.Event(), "worker": job.worker, "weights": None, "error": None}
            self._requests[request] = waiter
            job.worker.send(("weights", request, job.id, job.gen))
        timeout = self.weights_timeout_s if timeout is None else timeout
        if not waiter["event"].wait(timeout):
            with self._lock:
                self._requests.pop(request, None)
            raise JobError(f"The worker did not send the weights within {timeout:g} s; try again.")
        if waiter["error"]:
            raise JobError(f"No weights: {waiter['error']}.")
        return {run: {name: torch.from_numpy(array) for name, array in state.items()}
                for run, state in waiter["weights"].items()}

    def release(self, job_id: str, session: str) -> None:
        """The session no longer holds this job (nothing happens if it did not)."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is not None:
                self._unsubscribe(job, session)

    def release_session(self, session: str) -> None:
        """The session ended: it holds nothing any more. Jobs nobody holds end after the grace period."""
        with self._lock:
            for job_id in self._sessions.pop(session, []):
                job = self._jobs.get(job_id)
                if job is not None:
                    self._unsubscribe(job, session, forget=False)

    def session_jobs(self, session: str) -> list[str]:
        """The job ids a session holds, oldest first."""
        with self._lock:
            return list(self._sessions.get(session, []))

    def stats(self) -> dict[str, Any]:
        """Counts for a status line or a health check."""
        with self._lock:
            counts = {s: 0 for s in STATUSES}
            for job in self._jobs.values():
                counts[job.status] += 1
            return {"workers": sum(w.alive for w in self._pool), "jobs": len(self._jobs),
                    "sessions": len(self._sessions), "queued": len(self._queue), "statuses": counts,
                    "trainings_started": self.trainings_started,
                    "worker_pids": [w.process.pid for w in self._pool]}

    def shutdown(self, timeout: float = 1.0) -> None:
        """Stop the workers (politely, then not) and the reader thread. Idempotent; runs at exit too."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            pool = list(self._pool)
            for waiter in self._requests.values():
                waiter["error"] = "the job runner is shutting down"
                waiter["event"].set()
            self._requests.clear()
        with contextlib.suppress(Exception):
            atexit.unregister(self.shutdown)
        for w in pool:
            w.send(("quit",))
        with contextlib.suppress(OSError):
            self._wake_w.send(None)
        deadline = time.monotonic() + timeout
        for w in pool:
            w.process.join(max(0.0, deadline - time.monotonic()))
        for w in pool:
            for end in (w.process.terminate, w.process.kill):  # still starting up, or stuck: it holds nothing
                if w.process.is_alive():
                    end()
                    w.process.join(1.0)
        if self._reader is not threading.current_thread():
            self._reader.join(timeout)
        for w in pool:
            w.close()
        for conn in (self._wake_r, self._wake_w):
            conn.close()

    def __enter__(self) -> JobRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()

    # ------------------------------------------------------------------ bookkeeping (lock held)

    def _check_open(self) -> None:
        if self._closed:
            raise JobError("The job runner has shut down.")
        if self._broken:
            raise JobError(self._broken)

    def _get(self, job_id: str) -> _Job:
        job = self._jobs.get(job_id)
        if job is None:
            raise UnknownJobError(f"no job {job_id!r} (it may have ended after its viewers left)")
        return job

    def _shared(self, key: str) -> _Job | None:
        job_id = self._by_key.get(key)
        job = self._jobs.get(job_id) if job_id is not None else None
        return job if job is not None and job.status != "failed" else None

    def _subscribe(self, job: _Job, session: str) -> None:
        if job.id in self._sessions.get(session, []):
            return
        to_release = self._session_room(session)
        if to_release is not None:
            self._unsubscribe(to_release, session)
        self._sessions.setdefault(session, []).append(job.id)
        job.subscribers[session] = None
        job.orphan_since = None
        self._changed(job)

    def _unsubscribe(self, job: _Job, session: str, forget: bool = True) -> None:
        if forget and job.id in self._sessions.get(session, []):
            self._sessions[session].remove(job.id)
        if job.subscribers.pop(session, ()) is None:
            if not job.subscribers:
                job.orphan_since = time.monotonic()
            self._changed(job)

    def _session_room(self, session: str) -> _Job | None:
        """None if the session may hold one more job, else its oldest ended job to let go of; raises
        JobLimitError if all it holds are live."""
        held = [self._jobs[j] for j in self._sessions.get(session, []) if j in self._jobs]
        if len(held) < self.max_session_jobs:
            return None
        for job in held:
            if job.status in ENDED:
                return job
        raise JobLimitError(f"This session already has {len(held)} jobs queued, running or paused (the limit "
                            f"is {self.max_session_jobs} per session): stop one, or let one finish.")

    def _server_room(self) -> _Job | None:
        """None if the server may take one more live job, else the oldest orphan to end for it; raises
        JobLimitError if every live job has a viewer."""
        live = [j for j in self._jobs.values() if j.status in LIVE]
        if len(live) < self.max_jobs:
            return None
        orphans = [j for j in live if not j.subscribers]
        if not orphans:
            raise JobLimitError(f"The server is training its limit of {self.max_jobs} jobs at once; "
                                "try again when some have finished.")
        return min(orphans, key=lambda j: j.orphan_since)

    def _control(self, job: _Job, command: str, status: str, *args: Any) -> None:
        job.cseq += 1
        job.worker.send((command, job.id, job.gen, job.cseq, *args))
        if job.status != status:
            job.status = status  # optimistic: the worker's acknowledgement confirms it
            self._changed(job, urgent=True)

    def _schedule(self) -> None:
        """Give queued jobs free slots, first come first served, to the least loaded worker."""
        moved = False
        while self._queue and not self._closed:
            workers = [w for w in self._pool if w.alive]
            if not workers:
                break
            load = {w.index: sum(self._jobs[j].status in LIVE for j in w.jobs if j in self._jobs) for w in workers}
            target = min(workers, key=lambda w: (load[w.index], w.index))
            if load[target.index] >= self.jobs_per_worker:
                break
            job = self._jobs[self._queue.popleft()]
            job.worker = target
            target.jobs.add(job.id)
            pause_at = job.start_pause_at
            job.status = "paused" if pause_at == 0 else "running"
            job.run_status = ["running"] * len(job.run_status)
            target.send(("create", job.id, job.gen, job.cseq, job.group, pause_at))
            job.acked = -1  # pending until the worker confirms the job exists
            self._changed(job, urgent=True)
            moved = True
        if moved:
            self._mark_queue()

    def _mark_queue(self) -> None:
        for job_id in self._queue:  # their queue positions changed
            self._changed(self._jobs[job_id])

    def _detach(self, job: _Job) -> bool:
        """Take the job off its worker and out of the queue; True if it was queued."""
        if job.worker is not None:
            job.worker.send(("drop", job.id))
            job.worker.jobs.discard(job.id)
            job.worker = None
        if job.id not in self._queue:
            return False
        self._queue.remove(job.id)
        return True

    def _remove(self, job: _Job) -> None:
        if self._detach(job):
            self._mark_queue()
        self._jobs.pop(job.id, None)
        if self._by_key.get(job.key) == job.id:
            del self._by_key[job.key]
        for session in list(job.subscribers):
            with contextlib.suppress(ValueError, KeyError):
                self._sessions[session].remove(job.id)
        self._schedule()

    def _changed(self, job: _Job, urgent: bool = False) -> None:
        job.dirty = True
        if urgent or time.monotonic() - job.published_at >= self.publish_s:
            self._publish(job)

    def _publish(self, job: _Job) -> None:
        job.version += 1
        history = job.history
        job.view = JobView(
            id=job.id, group=job.group, version=job.version, status=job.status,
            run_statuses=dict(zip(job.group.ids, job.run_status)), step=job.step, steps=job.group.base.steps,
            steps_per_s=job.steps_per_s, message=job.message,
            history=replace(history, points=list(history.points)), hist_ranges=job.ranges,
            prediction=job.prediction, end_step=list(job.end_step), end_loss=list(job.end_loss),
            points=job.points, chance_loss=job.chance_loss,
            queue_position=self._queue.index(job.id) + 1 if job.id in self._queue else None,
            subscribers=len(job.subscribers), latency_s=job.latency_s, pending=job.acked != job.cseq,
            worker_pid=job.worker.process.pid if job.worker is not None else None,
        )
        job.dirty = False
        job.published_at = time.monotonic()

    def _housekeeping(self) -> None:
        now = time.monotonic()
        for job in list(self._jobs.values()):
            if job.orphan_since is not None and now - job.orphan_since >= self.grace_s:
                self._remove(job)
            elif job.dirty and now - job.published_at >= self.publish_s:
                self._publish(job)
        self._schedule()

    # ------------------------------------------------------------------ the reader thread

    def _read_loop(self) -> None:
        while True:
            try:
                if not self._read_once():
                    return
            except Exception:  # a bug here must not stop every job's updates: log it and go on
                log.exception("job runner: error in the reader thread")
                time.sleep(TICK_S)

    def _read_once(self) -> bool:
        """Wait for worker messages (or a tick), file them, do the housekeeping. False: shut down."""
        with self._lock:
            if self._closed:
                return False
            waitables: dict[Any, _Worker] = {}
            for w in self._pool:
                if w.alive:
                    waitables[w.conn] = w
                    waitables[w.process.sentinel] = w
        try:
            ready = multiprocessing.connection.wait([*waitables, self._wake_r], timeout=TICK_S)
        except OSError:  # a connection closed under us (shutdown)
            ready = []
        for obj in ready:
            if obj is self._wake_r:
                with contextlib.suppress(EOFError, OSError):
                    while self._wake_r.poll():
                        self._wake_r.recv()
                continue
            w = waitables[obj]
            if not self._drain(w) or obj is w.process.sentinel:
                self._worker_died(w)
        with self._lock:
            if self._closed:
                return False
            self._housekeeping()
        return True

    def _drain(self, w: _Worker, limit: int = 1000) -> bool:
        """File what the worker sent; False when its connection is broken."""
        for _ in range(limit):
            try:
                if not w.conn.poll():
                    return True
                message = w.conn.recv()
            except Exception:  # EOF, a broken pipe, a torn message: this worker is done for
                return False
            with self._lock:
                self._handle(w, message)
        return True

    def _handle(self, w: _Worker, message: tuple) -> None:
        kind = message[0]
        if kind == "hello":
            w.ready = True
            self._failed_starts = 0
            return
        if kind == "weights":
            _, request, weights, error = message
            waiter = self._requests.pop(request, None)
            if waiter is not None:
                waiter["weights"], waiter["error"] = weights, error
                waiter["event"].set()
            return
        _, job_id, gen, payload = message
        job = self._jobs.get(job_id)
        if job is None or job.gen != gen or job.worker is not w:
            return  # removed, reset, or moved on: an old message
        if kind == "failed":
            self._fail(job, payload)
            job.worker = None
            w.jobs.discard(job.id)
            self._schedule()
            return
        self._apply(job, payload)

    def _apply(self, job: _Job, update: dict) -> None:
        probe_every = job.group.base.probe_every
        for snapshot in update["snapshots"]:
            step = snapshot.step
            job.history.add(snapshot, index=step // probe_every if step % probe_every == 0 else None)
        if "ranges" in update:
            job.ranges = update["ranges"]
        if "prediction" in update:
            job.prediction = update["prediction"]
        job.step = update["step"]
        job.steps_per_s = update["steps_per_s"]
        job.end_step, job.end_loss = update["end_step"], update["end_loss"]
        job.latency_s = time.time() - update["sent"]
        urgent = False
        if update["cseq"] == job.cseq:  # the worker has seen every command: its state is the truth
            state = update["state"]
            urgent = state != job.status or update["statuses"] != job.run_status or job.acked != job.cseq
            job.acked = job.cseq
            job.status, job.run_status = state, update["statuses"]
            if state in ENDED:
                self._schedule()  # its slot is free
        self._changed(job, urgent=urgent)

    def _fail(self, job: _Job, message: str) -> None:
        job.status = "failed"
        job.run_status = ["failed" if s in ("running", "queued") else s for s in job.run_status]
        job.message = message
        job.steps_per_s = 0.0
        job.acked = job.cseq
        if self._by_key.get(job.key) == job.id:
            del self._by_key[job.key]  # the next start of this config trains afresh
        self._changed(job, urgent=True)

    def _worker_died(self, w: _Worker) -> None:
        w.process.join(1.0)
        if w.process.is_alive():  # its connection broke but it lives on: end it, it is of no use
            w.process.kill()
            w.process.join(1.0)
        with self._lock:
            if not w.alive:
                return
            w.alive = False
            if self._closed:
                return
            why = _exit_text(w.process.exitcode)
            for job_id in list(w.jobs):
                job = self._jobs.get(job_id)
                if job is None or job.worker is not w:
                    continue
                job.worker = None  # an ended job keeps its numbers here; only its weights are gone
                if job.status in LIVE:
                    self._fail(job, f"The worker process training this job stopped: {why}. "
                                    "Press Reset to train it again.")
            for request, waiter in list(self._requests.items()):
                if waiter["worker"] is w:
                    waiter["error"] = f"the worker process stopped ({why})"
                    waiter["event"].set()
                    del self._requests[request]
            w.close()
            self._failed_starts = 0 if w.ready else self._failed_starts + 1
            if self._failed_starts < MAX_FAILED_STARTS:
                self._pool[w.index] = _Worker(self._ctx, w.index)
            elif not any(other.alive for other in self._pool):
                # Workers die before they are ready, again and again (an unguarded Streamlit entry script,
                # a broken install): stop trying, and say so instead of queueing forever.
                self._broken = (f"Training is unavailable: {MAX_FAILED_STARTS} worker processes in a row "
                                f"stopped before they were ready (the last: {why}). See the server's log.")
                for job in list(self._jobs.values()):
                    if job.status == "queued":
                        self._queue.remove(job.id)
                        self._fail(job, self._broken)
            self._schedule()
