"""The job runner: trains groups in worker processes and keeps, on the server, what they measure.

A job is one group (GroupTrainer) trained in a worker process (engine/serving/worker.py). Workers are started
with `spawn`, one per CPU core by default (`LAYERSCOPE_WORKERS` overrides); each hosts many jobs and
gives every running one a short turn in a round, so thirty jobs on two cores all move. Snapshots stream
back as they are made; one reader thread files them into each job's bounded History. The page polls
`job(job_id)` and `tables(job_id)`; it never waits on training.

The pieces (engine/serving/): jobs.py the runner (jobs, sharing, limits, controls, scheduling, publishing);
protocol.py what runner and workers say to each other; worker.py the worker process; pool.py the worker
processes as the runner holds them; reader.py the thread that reads them; mirror.py the server's copy of a
job; views.py what the page reads; sessions.py who holds which job; weights.py fetching weights.

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

Statuses: engine/serving/views.py. Limits (per session, per server): engine/serving/sessions.py. A worker
runs at most `jobs_per_worker` live jobs (a paused job holds its slot); more wait as `queued`, first come
first served.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import multiprocessing
import threading
import time
import uuid
from collections import deque
from typing import Any

import torch

from engine.serving.errors import JobError, JobLimitError, UnknownJobError
from engine.serving.mirror import JobMirror
from engine.serving.pool import WorkerHandle, WorkerPool, default_workers, exit_text
from engine.serving.protocol import Control, Failed, Message, Pause, Resume, Retiring, Step, Stop, Update, WeightsReply
from engine.serving.reader import Reader
from engine.serving.sessions import Sessions
from engine.serving.views import ENDED, LIVE, STATUSES, JobView, Points, Tables
from engine.serving.weights import WeightsRequests
from engine.training.data import make_dataset
from engine.vocabulary.group import GroupConfig

__all__ = ["ENDED", "LIVE", "STATUSES", "JobError", "JobLimitError", "JobRunner", "JobView", "Points", "Tables",
           "UnknownJobError", "default_workers"]

log = logging.getLogger(__name__)


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
        self._lock = threading.RLock()
        self._jobs: dict[str, JobMirror] = {}
        self._by_key: dict[str, str] = {}  # config fingerprint -> job id
        self._sessions = Sessions(self._jobs)
        self._queue: deque[str] = deque()
        self._weights = WeightsRequests(self._lock)
        self._closed = False
        self.trainings_started = 0  # new jobs; a viewer joining an identical config's job adds none
        self._pool = WorkerPool(multiprocessing.get_context("spawn"), self.workers)
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
        data = make_dataset(group.base)  # outside the lock: digits loads scikit-learn the first time
        with self._lock:
            self._check_open()
            job = self._shared(key)  # another thread may have started it meanwhile
            if job is not None:
                self._subscribe(job, session)
                return job.id
            to_release = self._sessions.session_room(session, self.max_session_jobs)  # may raise JobLimitError
            to_end = self._sessions.server_room(self.max_jobs)
            if to_release is not None:
                self._changed(*self._sessions.unsubscribe(to_release, session))
            if to_end is not None:
                self._remove(to_end)
            job = JobMirror(uuid.uuid4().hex[:12], key, group, data)
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
        """The session no longer holds this job (nothing happens if it did not)."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is not None:
                self._changed(*self._sessions.unsubscribe(job, session))

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
            return {"workers": len(self._pool.alive()), "jobs": len(self._jobs),
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
        self._changed(*self._sessions.subscribe(job, session, self.max_session_jobs))

    def _control(self, job: JobMirror, command: type[Control], status: str, *args: int) -> None:
        if job.control(command, status, *args):
            self._changed(job, urgent=True)

    def _schedule(self) -> None:
        """Give queued jobs free slots, first come first served, to the least loaded worker."""
        moved = False
        while self._queue and not self._closed:
            live = {job.id for job in self._jobs.values() if job.status in LIVE}
            target = self._pool.free_worker(self.jobs_per_worker, live)
            if target is None:
                break
            job = self._jobs[self._queue.popleft()]
            job.place(target)
            self._changed(job, urgent=True)
            moved = True
        if moved:
            self._mark_queue()

    def _mark_queue(self) -> None:
        for job_id in self._queue:  # their queue positions changed
            self._changed(self._jobs[job_id])

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
            if job.orphan_since is not None and now - job.orphan_since >= self.grace_s:
                self._remove(job)
            elif job.dirty and now - job.published_at >= self.publish_s:
                self._publish(job)
        self._schedule()

    # ------------------------------------------------------------------ from the workers (lock held)

    def _on_message(self, w: WorkerHandle, message: Message) -> None:
        match message:
            case WeightsReply():
                self._weights.reply(message)
            case Update(job=job_id, gen=gen, progress=progress):
                job = self._current(w, job_id, gen)
                if job is not None:
                    urgent = job.apply(progress)
                    if progress.cseq == job.cseq and job.status in ENDED:
                        self._schedule()  # its slot is free
                    self._changed(job, urgent=urgent)
            case Failed(job=job_id, gen=gen, message=text):
                job = self._current(w, job_id, gen)
                if job is not None:
                    self._fail(job, text)
                    job.detach(drop=False)  # the worker has dropped it
                    self._schedule()
            case Retiring(rss=rss):  # not a crash: a fresh worker takes its place (engine/serving/memory.py)
                log.info("job runner: worker %d retires to give back %d MB", w.index, rss >> 20)
                self._on_worker_death(w, retired=True)
            case _:
                log.error("job runner: ignored an unknown message from worker %d: %.200r", w.index, message)

    def _current(self, w: WorkerHandle, job_id: str, gen: int) -> JobMirror | None:
        """The job a message is about, or None for an old message (removed, reset, or moved on)."""
        job = self._jobs.get(job_id)
        return job if job is not None and job.gen == gen and job.worker is w else None

    def _fail(self, job: JobMirror, message: str) -> None:
        job.fail(message)
        if self._by_key.get(job.key) == job.id:
            del self._by_key[job.key]  # the next start of this config trains afresh
        self._changed(job, urgent=True)

    def _on_worker_death(self, w: WorkerHandle, retired: bool = False) -> None:
        if not self._pool.retire(w) or self._closed:
            return
        why = "it retired to give its memory back" if retired else exit_text(w.process.exitcode)
        for job_id in list(w.jobs):
            job = self._jobs.get(job_id)
            if job is None or job.worker is not w:
                continue
            job.detach(drop=False)  # an ended job keeps its numbers here; only its weights are gone
            if retired and job.status in LIVE:  # sent to it as it left, never started: first in line for its successor
                job.restart(job.start_pause_at == 0)
                self._queue.appendleft(job.id)
            elif job.status in LIVE:
                self._fail(job, f"The worker process training this job stopped: {why}. "
                                "Press Reset to train it again.")
        self._weights.fail(f"the worker process stopped ({why})", w)
        self._pool.replace(w, why)
        if self._pool.broken:  # stop queueing forever: every queued job fails with the reason
            for job in list(self._jobs.values()):
                if job.status == "queued":
                    self._queue.remove(job.id)
                    self._fail(job, self._pool.broken)
        self._schedule()
