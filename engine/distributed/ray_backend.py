"""RayBackend: the search's Backend protocol (module engine.search.backend) on Ray tasks.

`map(task, items, on_result, should_stop)` sends one Ray task per item (one CPU each, one torch thread) and
hands each result to `on_result(index, result)` in the calling process as soon as that task ends, in the
order they end. `should_stop` is polled every POLL_S; once it says True every task still queued or running
is cancelled (`ray.cancel`: a KeyboardInterrupt in the running task's worker, measured at a few hundredths
of a second) and `map` returns within STOP_S. A task that raises cancels the others, and its error is raised
here. Same items and seeds, same numbers as the local backend: each task is the very function the local
backend calls, on the same CPU arithmetic with one thread.

Importing this module needs Ray (engine.search.backend turns its absence into a message saying how to install
it). Only the task, the items and the results cross to Ray, so `task` must be a module-level function and the
items plain data (callbacks that hold a lock cannot be pickled: `on_result` and `should_stop` stay here).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import ray  # without Ray this import fails, and engine.search.backend says how to install it

from engine.distributed.ray_session import connect

T = TypeVar("T")
R = TypeVar("R")

POLL_S = 0.05  # how often should_stop is asked while tasks run
STOP_S = 2.0  # a stop returns within this, cancelled tasks included
_CANCEL_WAIT_S = 1.5  # of STOP_S: how long cancelled tasks get to end before map returns anyway


def _run_one(task: Callable[[T], R], item: T) -> R:
    """What a Ray worker runs for one item: the task, on one torch thread (as the local workers)."""
    import torch

    torch.set_num_threads(1)
    return task(item)


class RayBackend:
    """Items as Ray tasks on the cluster at RAY_ADDRESS, or on a local Ray started for this process."""

    def __init__(self, num_cpus: int | None = None):
        self.ray = connect(num_cpus)  # the module, initialized
        self._remote = ray.remote(num_cpus=1, max_retries=0)(_run_one)

    def map(self, task: Callable[[T], R], items: Sequence[T], on_result: Callable[[int, R], None],
            should_stop: Callable[[], bool]) -> None:
        if should_stop():
            return
        task_ref = ray.put(task)  # pickled once, not once per item
        index_of: dict[Any, int] = {self._remote.remote(task_ref, item): i for i, item in enumerate(items)}
        pending = list(index_of)
        try:
            while pending:
                if should_stop():
                    break
                done, pending = ray.wait(pending, num_returns=1, timeout=POLL_S)
                for ref in done:
                    on_result(index_of[ref], ray.get(ref))
        finally:
            if pending:
                self._cancel(pending)

    def _cancel(self, refs: list[Any]) -> None:
        """Cancel queued and running tasks, and give them a moment to end so their CPUs are free again."""
        for ref in refs:
            ray.cancel(ref)
        deadline = time.monotonic() + _CANCEL_WAIT_S
        remaining = refs
        while remaining and time.monotonic() < deadline:
            _, remaining = ray.wait(remaining, num_returns=len(remaining), timeout=deadline - time.monotonic())
