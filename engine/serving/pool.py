"""The job runner's worker processes: starting, stopping and replacing them, and saying why one stopped.

Each worker (engine/serving/worker.py) is a `spawn` process with a command queue in and a Pipe out whose only
writer it holds, so its death reads as EOF (or its sentinel) in the reader thread (engine/serving/reader.py).
A worker that dies is replaced at the same index; workers that keep dying before they say hello (an
unguarded Streamlit entry script, a broken install) leave the pool `broken`, with the reason in words.
The pool is changed with the runner's lock held, except for `reap` and `stop`, which wait on processes.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Callable, Collection
from typing import Any

from engine.serving import worker as worker_module
from engine.serving.errors import JobError
from engine.serving.protocol import Command, Quit

MAX_FAILED_STARTS = 5  # workers in a row dying before they are ready: the pool gives up
WORKERS_ENV = "LAYERSCOPE_WORKERS"


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


class WorkerHandle:
    """One worker process as the runner holds it: its command queue, the read end of its pipe, its jobs."""

    def __init__(self, ctx: Any, index: int, niceness: int = 0):
        self.index = index
        self.niceness = niceness
        self.commands = ctx.Queue()
        self.commands.cancel_join_thread()  # never hang the server's exit on a dead worker's queue
        self.conn, writer = ctx.Pipe(duplex=False)
        self.process = ctx.Process(target=worker_module.main, args=(index, self.commands, writer, niceness),
                                   name=f"layerscope-worker-{index}", daemon=True)
        self.process.start()
        writer.close()  # the worker holds the only writer: its death reads as EOF here
        self.alive = True
        self.ready = False  # it said hello: it imported everything and serves
        self.jobs: set[str] = set()  # hosted job ids (live and ended)

    def send(self, command: Command) -> None:
        with contextlib.suppress(ValueError, OSError):  # closed queue of a worker being replaced
            self.commands.put(command)

    def reap(self) -> None:
        """Wait for a worker whose pipe broke or whose process ended; one that lives on is of no use: end it."""
        self.process.join(1.0)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(1.0)

    def close(self) -> None:
        for close in (self.conn.close, self.commands.close):
            with contextlib.suppress(OSError, ValueError):
                close()


class WorkerPool:
    def __init__(self, ctx: Any, count: int, niceness: Callable[[int], int] = lambda index: 0,
                 handle: Callable[[Any, int, int], WorkerHandle] = WorkerHandle):
        """`niceness(index)`: how much lower than the server's the priority of the worker at `index` is.
        `handle(ctx, index, niceness)` starts one worker: a process, or a Ray actor (engine/serving/ray_workers.py)."""
        self.ctx = ctx
        self.handle = handle
        self.workers = [handle(ctx, i, niceness(i)) for i in range(count)]
        self.failed_starts = 0  # workers in a row that died before they were ready
        self.broken = ""  # why no worker can start, once that is clear

    def alive(self) -> list[WorkerHandle]:
        return [w for w in self.workers if w.alive]

    def free_worker(self, jobs_per_worker: int, live: Collection[str]) -> WorkerHandle | None:
        """The least loaded live worker (fewest `live` jobs, then the lowest index), if it has a free slot."""
        workers = self.alive()
        if not workers:
            return None
        load = {w.index: sum(j in live for j in w.jobs) for w in workers}
        target = min(workers, key=lambda w: (load[w.index], w.index))
        return target if load[target.index] < jobs_per_worker else None

    def hello(self, w: WorkerHandle) -> None:
        w.ready = True
        self.failed_starts = 0

    def retire(self, w: WorkerHandle) -> bool:
        """Mark a dead worker as such; False if it already was."""
        if not w.alive:
            return False
        w.alive = False
        return True

    def replace(self, w: WorkerHandle, why: str) -> None:
        """Start a new worker in a retired one's place, unless too many in a row died before they were ready:
        then, with no other worker alive, the pool is `broken`."""
        w.close()
        self.failed_starts = 0 if w.ready else self.failed_starts + 1
        if self.failed_starts < MAX_FAILED_STARTS:
            self.workers[w.index] = self.handle(self.ctx, w.index, w.niceness)
        elif not self.alive():
            self.broken = (f"Training is unavailable: {MAX_FAILED_STARTS} worker processes in a row "
                           f"stopped before they were ready (the last: {why}). See the server's log.")

    def stop(self, workers: list[WorkerHandle], timeout: float) -> None:
        """Ask the workers to quit, wait up to `timeout`, then end those still there (starting up, or stuck:
        they hold nothing)."""
        for w in workers:
            w.send(Quit())
        deadline = time.monotonic() + timeout
        for w in workers:
            w.process.join(max(0.0, deadline - time.monotonic()))
        for w in workers:
            for end in (w.process.terminate, w.process.kill):
                if w.process.is_alive():
                    end()
                    w.process.join(1.0)


def exit_text(code: int | None) -> str:
    """Why a worker process stopped, in words, from its exit code."""
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
