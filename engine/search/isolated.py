"""A search in a process of its own: the server's searches train beside it, not in it.

A search's batches keep a core busy for as long as they train. On the server's own threads they would share
its interpreter lock with every page being drawn for everyone else; in a `spawn` process of their own, at the
heavy lane's lower priority (engine/serving/cost.py's heavy_niceness), they take only the CPU the server and
the light lane leave. The process runs `run_search` exactly as the CLI does (same backend choice, same
numbers) and sends the search's state back on a queue as it changes: the results so far (with each trial's
curve, without its kept net), then the chosen trial and its test score. A stop is a shared Event the batches
poll between chunks of steps, so every trial still ends within 2 s.

`run_isolated` is the parent's side: it starts the process, applies each update to the caller's
SearchOutcome under its lock, and returns once the final update has come, or raises if the process died
without sending one.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from engine.search.run import SearchOutcome
from engine.search.spec import SearchSpec

SEND_EVERY_S = 0.5  # the page looks about once a second; the batches report at most this often anyway
STOP_GRACE_S = 5.0  # after a stop, a process still alive this long after is ended by force


def _portable(outcome: SearchOutcome) -> dict[str, Any]:
    """The outcome as plain picklable data: no lock, no kept nets (they stay in the child)."""
    with outcome.lock:
        results = [None if r is None else replace(r, curve=list(r.curve), best_state=None) for r in outcome.results]
        return {"results": results, "chosen": outcome.chosen, "test": outcome.test, "stopped": outcome.stopped,
                "seconds": outcome.seconds, "done": outcome.done}


def _child(spec: SearchSpec, backend_name: str | None, updates: Any, stop: Any, niceness: int) -> None:
    """The search process: run the search, send its state as it changes, then the final state (or the error)."""
    import torch

    from engine.search.backend import LocalBackend, get_backend
    from engine.search.run import run_search
    from engine.serving.cost import lower_priority

    lower_priority(niceness)
    torch.set_num_threads(1)  # as the job workers: one core's worth of small nets
    sent = 0.0

    def on_update(outcome: SearchOutcome) -> None:
        nonlocal sent
        if outcome.done or time.monotonic() - sent >= SEND_EVERY_S:
            updates.put(("update", _portable(outcome)))
            sent = time.monotonic()

    parent = multiprocessing.parent_process()

    def should_stop() -> bool:  # a stop, or the server gone (killed): nobody to search for
        return stop.is_set() or (parent is not None and not parent.is_alive())

    backend = None
    try:
        backend = get_backend(backend_name)
        run_search(spec, backend, on_update=on_update, should_stop=should_stop)
        updates.put(("end", None))
    except BaseException as error:  # the parent shows it as a failed search
        traceback.print_exc()
        updates.put(("error", f"{type(error).__name__}: {error}"))
    finally:
        if parent is not None and not parent.is_alive():
            updates.cancel_join_thread()  # updates nobody will read must not hold up the exit
        else:
            updates.close()
            updates.join_thread()  # every update handed over to the pipe
        if backend is None or isinstance(backend, LocalBackend):  # Ray's own exit hooks shut its local cluster
            for stream in (sys.stdout, sys.stderr):
                stream.flush()
            os._exit(0)  # an interpreter's orderly teardown of torch takes seconds on a busy, low-priority core


def new_stop() -> Any:
    """A stop both processes see (set it to end the search)."""
    return multiprocessing.get_context("spawn").Event()


def run_isolated(spec: SearchSpec, outcome: SearchOutcome, stop: Any, backend_name: str | None = None,
                 niceness: int = 0, on_update: Callable[[], None] | None = None) -> None:
    """Run the search in its own process, filing its state into `outcome` as it comes; `stop` from new_stop().
    Raises RuntimeError with the child's message if the search failed or its process died."""
    ctx = multiprocessing.get_context("spawn")
    updates = ctx.Queue()
    process = ctx.Process(target=_child, args=(spec, backend_name, updates, stop, niceness),
                          name="layerscope-search", daemon=True)
    process.start()
    stopped_at: float | None = None
    try:
        while True:
            try:
                kind, payload = updates.get(timeout=0.25)
            except queue.Empty:
                kind, payload = "quiet", None
            if kind == "quiet":
                if stop.is_set() and stopped_at is None:
                    stopped_at = time.monotonic()
                if stopped_at is not None and time.monotonic() - stopped_at > STOP_GRACE_S:
                    process.terminate()
                    with outcome.lock:
                        outcome.stopped, outcome.done = True, True
                    return
                if not process.is_alive():
                    raise RuntimeError(f"the search's process ended without a result (exit code {process.exitcode})")
            elif kind == "update":
                with outcome.lock:
                    for name, value in payload.items():
                        setattr(outcome, name, value)
                if on_update is not None:
                    on_update()
            elif kind == "error":
                raise RuntimeError(payload)
            else:
                return
    finally:  # the search has ended for its viewers; its process's exit is waited for off their path
        threading.Thread(target=_reap, args=(process, updates), name="search-reaper", daemon=True).start()


def _reap(process: Any, updates: Any) -> None:
    process.join(timeout=STOP_GRACE_S)
    if process.is_alive():
        process.terminate()
        process.join(timeout=STOP_GRACE_S)
    updates.close()
