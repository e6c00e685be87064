"""Sessions come and go: does the server give memory back?

N sessions, one after another, against the server's one job runner in this process (app.runtime's, with a
short grace period so their jobs end soon after they leave). Each starts a job of its own config (widths,
batch and seed vary), reads its tables about as often as a page polls while it trains, shows it on the
Playground's live fragment (Streamlit's AppTest: the page's figure cache fills as on a server) and leaves.
Reported: the server's resident memory (RSS) after every k sessions, from the start (workers up, one
session served) to the end (every job ended and removed), whether the end is within 20% of the start, and
each worker's RSS at the start and the end. Nothing is asserted.

    .venv/bin/python -m bench.soak [--quick]      # quick: tens of sessions; full: 300
"""

from __future__ import annotations

import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from bench.app_cost import FRAGMENT_SCRIPT
from bench.common import main_of
from engine.serving.memory import megabytes, rss

ROOT = Path(__file__).resolve().parent.parent
WIDTHS = ("32,32,32", "6x48", "128,128", "16,16")
BATCHES = ("32", "64", "128")
GRACE_S = 0.3
TOLERANCE = 0.2  # the end within 20% of the start


def _config(i: int) -> dict[str, str]:
    return {"hidden": WIDTHS[i % len(WIDTHS)], "batch_size": BATCHES[i % len(BATCHES)], "samples": "1000",
            "steps": "200", "probe_every": "2", "seed": str(i)}


def _show(script: Path, job_id: str) -> None:
    """The Playground's live fragment for the job, once, as a viewer's poll runs it."""
    from streamlit.testing.v1 import AppTest

    main = sys.modules["__main__"]  # AppTest installs its script as __main__: spawned workers would import it
    try:
        fragment = AppTest.from_file(str(script), default_timeout=120)
        fragment.query_params["job"] = job_id
        fragment.run()
    finally:
        sys.modules["__main__"] = main
    if fragment.exception:
        raise RuntimeError(f"the page raised: {fragment.exception[0].value}")


def _session(runner, i: int, script: Path | None) -> None:
    from engine.vocabulary.group import parse_group

    session = f"soak-{i}"
    job_id = runner.start(parse_group(_config(i)), session)
    shown = -1
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        view = runner.job(job_id)
        if view.step > 0:
            runner.tables(job_id)
            if script is not None and view.version != shown and (view.done or shown < 0):
                _show(script, job_id)  # a first chart, and the last
                shown = view.version
        if view.done:
            break
        time.sleep(0.05)
    runner.release_session(session)


def _settle(runner, seconds: float = 30.0) -> None:
    """Wait until every job has ended and been removed (their grace periods over)."""
    deadline = time.monotonic() + seconds
    while runner.stats()["jobs"] and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(2 * GRACE_S)


def _workers(runner) -> list[float]:
    return [megabytes(rss(pid)) for pid in runner.stats()["worker_pids"] if pid]


def soak(sessions: int, every: int, pages: bool = True) -> dict:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from app.runtime import get_runner

    runner = get_runner()
    limits = runner.limits
    runner.limits = replace(limits, grace_s=GRACE_S)
    try:
        with tempfile.TemporaryDirectory() as folder:
            script = Path(folder) / "fragment.py"
            script.write_text(FRAGMENT_SCRIPT.format(root=str(ROOT), page="playground"))
            page = script if pages else None
            _session(runner, 10**6, page)  # warm: workers up, imports done, one page shown
            _settle(runner)
            start, workers_start, pids = rss(), _workers(runner), runner.stats()["worker_pids"]
            curve = [megabytes(start)]
            started = time.monotonic()
            for i in range(sessions):
                _session(runner, i, page)
                if (i + 1) % every == 0:
                    curve.append(megabytes(rss()))
            _settle(runner)
            end = rss()
            curve.append(megabytes(end))
            return {
                "sessions": sessions, "pages": pages, "every": every, "seconds": round(time.monotonic() - started, 1),
                "server_rss_mb_curve": curve, "server_rss_mb_start": megabytes(start),
                "server_rss_mb_end": megabytes(end), "end_vs_start": round(end / start, 3),
                "within_20_percent": end <= (1 + TOLERANCE) * start,
                "worker_rss_mb_start": workers_start, "worker_rss_mb_end": _workers(runner),
                "workers_restarted": sum(a != b for a, b in zip(pids, runner.stats()["worker_pids"])),
            }
    finally:
        runner.limits = limits


def run(quick: bool) -> dict:
    return soak(10, 5) if quick else soak(300, 30)


main = main_of("soak", __doc__, run)

if __name__ == "__main__":
    main()
