"""The job runner's one reader thread: it drains every worker's pipe and hands each message to the runner.

It waits on every live worker's pipe and process sentinel (and a wake-up pipe) for at most TICK_S, then:
a Hello marks the worker ready in the pool; any other message goes to `on_message`; a broken pipe or an
ended process is reaped (outside the lock) and goes to `on_death`; and every round ends with `on_tick`,
the runner's housekeeping; every TRIM_S it hands the server's free heap back to the system (glibc keeps
what ended jobs freed otherwise). Every call into the runner holds the runner's lock. The thread ends once
`closed()` is true (the runner wakes it with `wake` when it shuts down).
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing.connection
import threading
import time
from collections.abc import Callable
from typing import Any

from engine.serving.memory import trim
from engine.serving.pool import WorkerHandle, WorkerPool
from engine.serving.protocol import Hello, Message

log = logging.getLogger(__name__)

TICK_S = 0.05  # the housekeeping cadence (publishing, orphans, the queue)
DRAIN_LIMIT = 1000  # messages filed from one worker before the others get their turn
TRIM_S = 10.0  # this often, outside the lock, hand the server's free heap back (engine/serving/memory.py)


class Reader:
    def __init__(self, pool: WorkerPool, lock: threading.RLock, *, closed: Callable[[], bool],
                 on_message: Callable[[WorkerHandle, Message], None],
                 on_death: Callable[[WorkerHandle], None], on_tick: Callable[[], None]):
        self._pool, self._lock = pool, lock
        self._closed, self._on_message, self._on_death, self._on_tick = closed, on_message, on_death, on_tick
        self._wake_r, self._wake_w = pool.ctx.Pipe(duplex=False)
        self._trimmed_at = time.monotonic()
        self._thread = threading.Thread(target=self._loop, name="layerscope-jobs-reader", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        with contextlib.suppress(OSError):
            self._wake_w.send(None)

    def join(self, timeout: float) -> None:
        """Wait for the thread to end (it must have been told: `closed()` and `wake`), then close the pipe."""
        if self._thread is not threading.current_thread():
            self._thread.join(timeout)
        for conn in (self._wake_r, self._wake_w):
            conn.close()

    def _loop(self) -> None:
        while True:
            try:
                if not self._once():
                    return
            except Exception:  # a bug here must not stop every job's updates: log it and go on
                log.exception("job runner: error in the reader thread")
                time.sleep(TICK_S)

    def _once(self) -> bool:
        """Wait for worker messages (or a tick), file them, do the housekeeping. False: shut down."""
        with self._lock:
            if self._closed():
                return False
            waitables: dict[Any, WorkerHandle] = {}
            for w in self._pool.alive():
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
                w.reap()
                with self._lock:
                    self._on_death(w)
        with self._lock:
            if self._closed():
                return False
            self._on_tick()
        if time.monotonic() - self._trimmed_at >= TRIM_S:
            trim()
            self._trimmed_at = time.monotonic()
        return True

    def _drain(self, w: WorkerHandle) -> bool:
        """File what the worker sent; False when its connection is broken."""
        for _ in range(DRAIN_LIMIT):
            try:
                if not w.conn.poll():
                    return True
                message = w.conn.recv()
            except Exception:  # EOF, a broken pipe, a torn message: this worker is done for
                return False
            with self._lock:
                match message:
                    case Hello():
                        self._pool.hello(w)
                    case _:
                        self._on_message(w, message)
                if not w.alive:  # it retired (a Retiring message): nothing more comes from it
                    return False
        return True
