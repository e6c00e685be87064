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

import contextlib
import multiprocessing
import os
import queue
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

    from engine.search.backend import get_backend
    from engine.search.run import run_search

    if niceness:
        with contextlib.suppress(OSError):  # a platform without priorities still searches
            os.nice(niceness)
    torch.set_num_threads(1)  # as the job workers: one core's worth of small nets
    sent = 0.0

    def on_update(outcome: SearchOutcome) -> None:
        nonlocal sent
        if outcome.done or time.monotonic() - sent >= SEND_EVERY_S:
            updates.put(("update", _portable(outcome)))
            sent = time.monotonic()

    try:
        run_search(spec, get_backend(backend_name), on_update=on_update, should_stop=stop.is_set)
        updates.put(("end", None))
    except BaseException as error:  # the parent shows it as a failed search
        traceback.print_exc()
        updates.put(("error", f"{type(error).__name__}: {error}"))


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
    finally:
        process.join(timeout=STOP_GRACE_S)
        if process.is_alive():
            process.terminate()
        updates.close()
