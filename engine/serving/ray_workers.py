"""The job runner's workers as Ray actors: the same worker loop and protocol, on a Ray cluster.

With LAYERSCOPE_BACKEND=ray the runner (engine/serving/jobs.py) holds RayWorkerHandles instead of worker
processes. Each is one Ray actor (one CPU, spread over the cluster's nodes) running the very loop of a local
worker, `engine.serving.worker.serve`, with the same commands and messages (engine/serving/protocol.py), so
jobs, sharing one job per link, controls, limits and lanes work unchanged. Only the two channels differ:

    runner -> actor   `put(seq, command)` calls; the actor files them into its loop's queue in `seq` order
                      (a threaded actor may run two calls out of order)
    actor -> runner   the actor buffers what the loop sends; a pump thread here fetches it (`take`) and
                      writes it into a local Pipe, the `conn` the runner's reader thread waits on as for any
                      worker; when the loop ends or the actor dies the pump closes that pipe and the
                      handle's sentinel, and the reader sees the worker's end as for a process

Ray itself (the cluster at RAY_ADDRESS or a local Ray) comes from engine/distributed/ray_session.py.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import threading
from typing import Any

from engine.distributed.ray_session import (
    BACKEND_VARIABLE,
    BACKENDS,
    INSTALL_HINT,
    RayUnavailable,
    connect,
    installed,
)
from engine.serving import worker as worker_module
from engine.serving.errors import JobError
from engine.serving.protocol import Command, Hello, Message

TAKE_S = 0.2  # the longest one fetch waits in the actor for something to send

log = logging.getLogger("engine.serving.jobs")


def placement(name: str | None = None) -> str:
    """Where the runner's workers go: "local" (processes here) or "ray". None reads LAYERSCOPE_BACKEND
    (default local). Ray asked for but not installed: local, with a warning in the log saying how to
    install it; an unknown name raises JobError naming the variable, its value and what is allowed."""
    text = os.environ.get(BACKEND_VARIABLE, "local") if name is None else name
    chosen = text.strip().lower() or "local"
    if chosen not in BACKENDS:
        raise JobError(f"{BACKEND_VARIABLE}={text!r}: unknown backend (allowed: {', '.join(BACKENDS)})")
    if chosen == "ray" and not installed():
        log.warning("%s=ray but Ray is not installed: training in local worker processes. "
                    "`%s` installs it.", BACKEND_VARIABLE, INSTALL_HINT)
        return "local"
    return chosen


class _Outbox:
    """What the worker loop sends (its `results.send`), kept in the actor until the runner's pump takes it."""

    def __init__(self) -> None:
        self._messages: list[Message] = []
        self._ready = threading.Condition()
        self.closed = False

    def send(self, message: Message) -> None:
        with self._ready:
            self._messages.append(message)
            self._ready.notify()

    def close(self) -> None:
        with self._ready:
            self.closed = True
            self._ready.notify()

    def take(self, timeout: float) -> tuple[list[Message], bool]:
        with self._ready:
            self._ready.wait_for(lambda: self._messages or self.closed, timeout)
            messages, self._messages = self._messages, []
            return messages, self.closed


class WorkerActor:
    """The actor's body (made a Ray actor class by `_actor_class`): one worker loop and its two channels."""

    def __init__(self) -> None:
        self.commands: queue.Queue[Command] = queue.Queue()
        self.outbox = _Outbox()
        self._next = 0
        self._early: dict[int, Command] = {}
        self._order = threading.Lock()

    def run(self, index: int, niceness: int) -> None:
        """The worker loop until Quit (or the worker retires); then the outbox says it is closed."""
        if niceness:
            with contextlib.suppress(OSError):
                os.nice(niceness)
        try:
            worker_module.serve(index, self.commands, self.outbox)
        finally:
            self.outbox.close()

    def put(self, seq: int, command: Command) -> None:
        with self._order:
            self._early[seq] = command
            while self._next in self._early:
                self.commands.put(self._early.pop(self._next))
                self._next += 1

    def take(self, timeout: float) -> tuple[list[Message], bool]:
        return self.outbox.take(timeout)


_classes: dict[int, Any] = {}


def _actor_class(ray: Any) -> Any:
    """WorkerActor as a Ray actor class: one CPU; threads for the loop, the commands and the fetches."""
    if id(ray) not in _classes:
        _classes[id(ray)] = ray.remote(num_cpus=1, max_concurrency=4, max_restarts=0,
                                       scheduling_strategy="SPREAD")(WorkerActor)
    return _classes[id(ray)]


def _ray() -> Any:
    """Ray, started or joined once per process; JobError (for the page) if it cannot be."""
    try:
        return connect()
    except RayUnavailable as error:
        raise JobError(str(error)) from None


def ray_worker_count() -> int:
    """How many Ray workers the runner holds by default: one per CPU of the cluster. Starts or joins Ray."""
    return max(1, int(_ray().cluster_resources().get("CPU", 1)))


class _ActorProcess:
    """The `process` of a RayWorkerHandle: what the pool and the reader ask of a worker process."""

    def __init__(self, handle: RayWorkerHandle):
        self._handle = handle
        self.pid: int | None = None  # the actor's process id, from its Hello
        self.exitcode: int | None = None  # 0 once its loop ended; None while it runs or if the actor died
        self.sentinel, self._sentinel_writer = os.pipe()  # readable once the worker has ended

    def is_alive(self) -> bool:
        return self._handle._pump.is_alive()

    def join(self, timeout: float | None = None) -> None:
        self._handle._pump.join(timeout)

    def terminate(self) -> None:
        self._handle._kill()

    kill = terminate

    def ended(self, exitcode: int | None) -> None:
        self.exitcode = exitcode
        with contextlib.suppress(OSError):
            os.close(self._sentinel_writer)


class RayWorkerHandle:
    """One Ray actor as the runner holds a worker: `send` commands, `conn` to read, `process` to watch."""

    def __init__(self, ctx: Any, index: int, niceness: int = 0):
        self.ray = _ray()
        self.index = index
        self.niceness = niceness
        self.conn, self._writer = ctx.Pipe(duplex=False)
        self.actor = _actor_class(self.ray).remote()
        self.actor.run.remote(index, niceness)
        self._seq = 0
        self._seq_lock = threading.Lock()
        self.alive = True
        self.ready = False  # it said hello: it imported everything and serves
        self.jobs: set[str] = set()
        self._pump = threading.Thread(target=self._forward, name=f"layerscope-ray-worker-{index}", daemon=True)
        self.process = _ActorProcess(self)
        self._pump.start()

    def send(self, command: Command) -> None:
        with self._seq_lock:
            seq, self._seq = self._seq, self._seq + 1
            with contextlib.suppress(Exception):  # a dead actor: the pump reports its end
                self.actor.put.remote(seq, command)

    def _forward(self) -> None:
        """Move the actor's messages into the local pipe until its loop ends or it dies, then close both ends
        the reader watches."""
        exitcode = None
        try:
            while True:
                messages, closed = self.ray.get(self.actor.take.remote(TAKE_S))
                for message in messages:
                    if isinstance(message, Hello):
                        self.process.pid = message.pid
                    self._writer.send(message)
                if closed:
                    exitcode = 0
                    break
        except Exception:  # the actor died, or Ray went away: the reader sees this worker end
            exitcode = None
        finally:
            with contextlib.suppress(OSError):
                self._writer.close()
            self._kill()
            self.process.ended(exitcode)

    def _kill(self) -> None:
        with contextlib.suppress(Exception):
            self.ray.kill(self.actor, no_restart=True)

    def reap(self) -> None:
        self.process.join(1.0)
        if self.process.is_alive():
            self._kill()
            self.process.join(1.0)

    def close(self) -> None:
        for close in (self.conn.close, lambda: os.close(self.process.sentinel)):
            with contextlib.suppress(OSError, ValueError):
                close()
