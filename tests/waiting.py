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


def process_running(pid: int) -> bool:
    """Whether process `pid` still runs (a zombie that nobody reaped has ended)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def orphan_ends(tmp_path, starts_child: str, timeout: float = 120) -> None:
    """Run a server script whose `starts_child` lines (under `if __name__ == '__main__':`, indented four
    spaces) start a child process and print its pid; kill the server as its host would (no atexit, no
    stop), then wait for the orphaned child to end by itself."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    server = tmp_path / "server.py"
    server.write_text("import time\nif __name__ == '__main__':\n" + starts_child + "    time.sleep(600)\n")
    root = Path(__file__).resolve().parent.parent
    process = subprocess.Popen([sys.executable, str(server)], stdout=subprocess.PIPE, text=True, cwd=root,
                               env={**os.environ, "PYTHONPATH": str(root)})
    try:
        child = int(process.stdout.readline())
        wait_for("the child process", lambda: process_running(child), timeout=60)
        time.sleep(1.0)
    finally:
        process.kill()
        process.wait()
    wait_for("the orphaned child process to end", lambda: not process_running(child), timeout=timeout)
