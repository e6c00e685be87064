"""How the job runner reacts to its workers: their messages (updates, failures, weights, retiring) and their
deaths. A mixin of JobRunner (engine/serving/jobs.py), kept apart so that file stays about jobs; every method
here runs on the reader thread with the runner's lock held."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from engine.serving.pool import WorkerHandle, exit_text
from engine.serving.protocol import Failed, Message, Retiring, Update, WeightsReply
from engine.serving.views import ENDED, LIVE

if TYPE_CHECKING:
    from engine.serving.mirror import JobMirror

log = logging.getLogger("engine.serving.jobs")


class WorkerEvents:
    """JobRunner's handling of what its workers say and do (uses the runner's jobs, queue, pool, weights)."""

    # ------------------------------------------------------------------ from the workers (lock held)

    def _on_message(self, w: WorkerHandle, message: Message) -> None:
        match message:
            case WeightsReply():
                self._weights.reply(message)
            case Update(job=job_id, gen=gen, progress=progress):
                job = self._current(w, job_id, gen)
                if job is not None:
                    if progress.step_s > 0:
                        self.speed.observe(job.cost, progress.step_s)
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
