"""Waiting on something another process does (a worker's update, a job's end), for the tests: bounded, and
failing with what was awaited."""

from __future__ import annotations

import time
from collections.abc import Callable

WAIT_S = 30.0


def wait_for(what: str, condition: Callable[[], object], timeout: float = WAIT_S) -> object:
    """The first truthy value of `condition()`, polled every 20 ms; AssertionError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
