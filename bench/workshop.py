"""A workshop, simulated: N participants open one link on one server and every one must see the run.

Each participant is a Streamlit session (AppTest) in this process, sharing the server's one job runner,
as sessions of a real server do. They arrive one after another, as fast as the server can serve them
(as a room does within seconds); meanwhile each one waiting for data reruns about once a second, as the
page's live fragment does, until it sees charts with data. A participant's time to first chart runs
from its arrival to the end of the page run that showed data. Sessions run one at a time here, which a
real server's threads do too for this Python code (the GIL), so the times are a fair upper bound.
Reported: training runs started (identical links share one deterministic run: the target is 1), the
slowest participant's time from opening the link to a chart with data, and the server CPU of one
participant's refresh (the live fragment alone, what each pays per second; figures are built once per
data version and shared by all).

    .venv/bin/python -m bench.workshop [--quick]
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

from app.pages import COMPARE, Page
from bench.common import main_of, rnd

ROOT = Path(__file__).resolve().parent.parent
MAIN = str(ROOT / "app" / "main.py")
LINK = {"preset": "vanishing-sigmoid", "view": "present", "autorun": "1"}


def _has_data(app) -> bool:
    """Whether the page shows a chart with data (not a "Waiting for data" placeholder)."""
    return any(json.loads(chart.proto.spec).get("data") for chart in app.get("plotly_chart"))


def _open(link: dict[str, str], page: Page):
    from streamlit.testing.v1 import AppTest

    app = AppTest.from_file(MAIN, default_timeout=120).run()  # AppTest starts on the default page
    for key, value in link.items():
        app.query_params[key] = value
    return app.switch_page(page.script).run()


def _interval(viewers: int) -> float:
    """The page's polling interval for a job with this many viewers (app/run_panel.py)."""
    from app.run_panel import REFRESH_SECONDS, VIEWERS_AT_FULL_RATE

    return REFRESH_SECONDS * max(1.0, viewers / VIEWERS_AT_FULL_RATE)


def _warm(runner) -> None:
    """A workshop server is up before the room arrives: its workers have started."""
    from engine.vocabulary.config import RunConfig
    from engine.vocabulary.group import GroupConfig

    job_id = runner.start(GroupConfig.single(RunConfig(steps=20, hidden=(4,))), "bench-warm-up")
    deadline = time.monotonic() + 60
    while runner.job(job_id).step == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    runner.release_session("bench-warm-up")


def rehearse(viewers: int, link: dict[str, str] = LINK, page: Page = COMPARE, timeout_s: float = 180.0) -> dict:
    """Open `link` on `page` for `viewers` sessions, poll each until it shows charts with data."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from app.runtime import get_runner

    runner = get_runner()
    _warm(runner)
    started_before = runner.trainings_started
    opened, last_run, seen, apps, errors, refresh_cpu = [], [], {}, [], [], []
    deadline = time.monotonic() + timeout_s
    while (len(apps) < viewers or len(seen) < viewers) and time.monotonic() < deadline:
        if len(apps) < viewers:  # the next participant arrives
            opened.append(time.monotonic())
            apps.append(_open(link, page))
            last_run.append(time.monotonic())
            errors += [str(e.value) for e in apps[-1].exception]
        for i, app in enumerate(apps):  # everyone waiting reruns about once a second, as the fragment does
            if i in seen:
                continue
            if _has_data(app):
                seen[i] = last_run[i] - opened[i]
                continue
            if time.monotonic() - last_run[i] >= _interval(len(apps)):
                cpu = time.process_time()
                app.run()  # the fragment's timer does not fire in AppTest: the page reruns instead
                refresh_cpu.append((time.process_time() - cpu) * 1000)
                last_run[i] = time.monotonic()
                errors += [str(e.value) for e in app.exception]
        if len(apps) == viewers:
            time.sleep(0.05)
    job_ids = {app.session_state[f"{page.prefix}job_id"] for app in apps}
    return {
        "viewers": viewers, "link": "&".join(f"{k}={v}" for k, v in link.items()),
        "trainings_started": runner.trainings_started - started_before, "distinct_jobs": len(job_ids),
        "saw_charts": len(seen), "errors": errors[:3],
        "slowest_first_chart_s": rnd(max(seen.values())) if seen else None,
        "median_first_chart_s": rnd(statistics.median(seen.values())) if seen else None,
        "page_rerun_cpu_ms": rnd(statistics.median(refresh_cpu)) if refresh_cpu else None,
        "job_id": next(iter(job_ids)) if len(job_ids) == 1 else None,
        "apps": apps,
    }


def run(quick: bool) -> dict:
    from bench.app_cost import _fragment_cost

    out = {}
    for viewers in (3,) if quick else (30, 100):
        result = rehearse(viewers, {**LINK, "seed": str(viewers)})  # each room its own run, started afresh
        result.pop("apps")
        job_id = result.pop("job_id")
        if job_id is not None:  # what each participant pays per refresh once the charts are up
            _, runs = _fragment_cost("compare", job_id, 3 if quick else 10)
            result["refresh_cpu_ms_per_viewer"] = rnd(statistics.median(runs))
            result["refresh_interval_s"] = rnd(_interval(viewers))
            result["server_cpu_s_per_second_all_viewers"] = rnd(statistics.median(runs) * viewers / 1000
                                                                / _interval(viewers))
        out[f"{viewers}_viewers"] = result
    return out


main = main_of("workshop", __doc__, run)

if __name__ == "__main__":
    main()
