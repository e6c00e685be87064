"""A real server and a real browser, for the browser tests and the browser benchmarks.

`serve()` starts `streamlit run app/main.py` on a free loopback port and yields its address; `chromium()`
launches Debian's /usr/bin/chromium through Playwright (never a browser downloaded by a test tool).
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def serve(env: Mapping[str, str] | None = None, workers: int = 2) -> Iterator[str]:
    """A Streamlit server for the app; yields its base URL and stops it after."""
    port = free_port()
    with tempfile.TemporaryFile() as log:  # a pipe no one reads would fill and stall the server
        process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(ROOT / "app" / "main.py"), "--server.port", str(port),
             "--server.address", "127.0.0.1", "--server.headless", "true"],
            cwd=ROOT, env={**os.environ, "LAYERSCOPE_WORKERS": str(workers), **(env or {})},
            stdout=log, stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_healthy(url, process, log)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()


def _wait_healthy(url: str, process: subprocess.Popen, log) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                raise RuntimeError(f"streamlit did not start: {log.read().decode()[-2000:]}") from None
            time.sleep(0.3)


@contextmanager
def chromium():
    """Debian's Chromium through Playwright; yields the Browser."""
    with chromiums(0) as (browser,):
        yield browser


def _descendants(root: int) -> list[int]:
    """The pids of every process under `root` (from /proc: Linux only)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            pid, rest = stat.read_text().split(" ", 1)
            children.setdefault(int(rest.rsplit(")", 1)[1].split()[1]), []).append(int(pid))
        except (OSError, IndexError, ValueError):
            continue
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


@contextmanager
def _kept_nice(pid_file: Path, niceness: int) -> Iterator[None]:
    """Keep a browser's whole process tree at `niceness`: Chromium sets its renderers' priorities itself."""
    done = threading.Event()

    def keep() -> None:
        while not done.wait(0.25):
            with contextlib.suppress(OSError, ValueError):
                for pid in _descendants(int(pid_file.read_text())):
                    with contextlib.suppress(OSError):
                        if os.getpriority(os.PRIO_PROCESS, pid) != niceness:
                            os.setpriority(os.PRIO_PROCESS, pid, niceness)

    thread = threading.Thread(target=keep, name="keep-nice", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


@contextmanager
def chromiums(*nicenesses: int):
    """One Chromium per niceness, through one Playwright; yields the Browsers. A niceness > 0 runs that browser
    at a lower priority (`nice`), as a stand-in for browsers on other people's machines."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        raise RuntimeError("Debian's chromium is missing: apt-get install -y chromium")
    with tempfile.TemporaryDirectory() as folder, sync_playwright() as playwright, ExitStack() as stack:
        browsers = []
        try:
            for index, niceness in enumerate(nicenesses):
                executable = CHROMIUM
                if niceness:  # a wrapper that notes the browser's pid (exec keeps it)
                    executable, pid_file = Path(folder) / f"chromium-{index}", Path(folder) / f"pid-{index}"
                    executable.write_text(f'#!/bin/sh\necho $$ > {pid_file}\nexec {CHROMIUM} "$@"\n')
                    executable.chmod(0o755)
                    stack.enter_context(_kept_nice(pid_file, niceness))
                browsers.append(playwright.chromium.launch(executable_path=str(executable), args=CHROMIUM_ARGS))
            yield tuple(browsers)
        finally:
            for browser in browsers:
                browser.close()
