"""A job's weights, fetched from its worker: each request waits on the caller's thread for the WeightsReply.

`ask`, `reply` and `fail` run with the runner's lock held (the lock given here); `wait` must not hold it.
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field

import numpy as np
import torch

from engine.serving.errors import JobError
from engine.serving.mirror import JobMirror
from engine.serving.pool import WorkerHandle
from engine.serving.protocol import WeightsReply, WeightsRequest


@dataclass(eq=False)
class Waiter:
    request: int
    worker: WorkerHandle
    event: threading.Event = field(default_factory=threading.Event)
    weights: dict[str, dict[str, np.ndarray]] | None = None
    error: str | None = None


class WeightsRequests:
    """The weights requests in flight, by request id."""

    def __init__(self, lock: threading.RLock):
        self._lock = lock
        self._waiting: dict[int, Waiter] = {}
        self._ids = itertools.count(1)

    def ask(self, job: JobMirror) -> Waiter:
        """Send the job's worker a WeightsRequest; raises JobError if the job has no weights to send."""
        if job.status == "queued":
            raise JobError("The job has not started yet: it has no weights.")
        if job.worker is None:
            reason = job.message or "its worker process stopped"
            raise JobError(f"The weights of this job are gone ({reason}). Reset it to train again.")
        waiter = Waiter(next(self._ids), job.worker)
        self._waiting[waiter.request] = waiter
        job.worker.send(WeightsRequest(waiter.request, job.id, job.gen))
        return waiter

    def reply(self, reply: WeightsReply) -> None:
        waiter = self._waiting.pop(reply.request, None)
        if waiter is not None:
            self._answer(waiter, reply.weights, reply.error)

    def fail(self, error: str, worker: WorkerHandle | None = None) -> None:
        """Answer every request (`worker`: every request to that worker) with `error`."""
        for request, waiter in list(self._waiting.items()):
            if worker is None or waiter.worker is worker:
                self._answer(waiter, None, error)
                del self._waiting[request]

    def wait(self, waiter: Waiter, timeout: float) -> dict[str, dict[str, torch.Tensor]]:
        """{run id: state_dict} as the worker sent them; raises JobError on a timeout or the worker's error."""
        if not waiter.event.wait(timeout):
            with self._lock:
                self._waiting.pop(waiter.request, None)
            raise JobError(f"The worker did not send the weights within {timeout:g} s; try again.")
        if waiter.error or waiter.weights is None:
            raise JobError(f"No weights: {waiter.error}.")
        return {run: {name: torch.from_numpy(array) for name, array in state.items()}
                for run, state in waiter.weights.items()}

    @staticmethod
    def _answer(waiter: Waiter, weights: dict[str, dict[str, np.ndarray]] | None, error: str | None) -> None:
        waiter.weights, waiter.error = weights, error
        waiter.event.set()
