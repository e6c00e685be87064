"""What a person sees in Chromium: time to the page's title and to its first chart with data, on a warm
server, quiet and with three heavy jobs of other sessions training.

- `quiet`: the median (and all) of 5 loads of a small autorun link: `title_s` (the page's heading shows)
  and `first_chart_s` (a Plotly chart holds data points). A load that has not shown them after WAIT_S
  counts as `None` in `all`, with `not_shown_within_s` set: a result to read, not a failed benchmark.
- `beside_heavy`: the same while three other tabs each train the heaviest kind of job (2 x 1024 units,
  batch 4,096, a probe every step), each in its own session. Their pages render in a second Chromium at the
  lowest priority (`nice 19`), standing in for browsers on other people's machines; the server still builds
  and sends their figures every second.

    .venv/bin/python -m bench.browser_rehearsal [--quick]
"""

from __future__ import annotations

import statistics
import time
from urllib.parse import urlencode

from bench.common import main_of, rnd
from bench.live_server import chromiums, serve

SMALL = {"hidden": "2x8", "autorun": "1"}
HEAVY = {"hidden": "2x1024", "batch_size": "4096", "probe_every": "1", "dataset": "moons", "samples": "5000",
         "steps": "200000", "autorun": "1"}
TITLE = "h1"
HAS_DATA = """() => Array.from(document.querySelectorAll('.js-plotly-plot'))
    .some(gd => (gd._fullData || []).some(t => (t.x && t.x.length > 0) || (t.z && t.z.length > 0)))"""


WAIT_S = 180  # a load still waiting after this long is recorded as such (a measurement, never an error)


def _load(browser, url: str) -> dict:
    """Seconds to the title and to the first chart; None for what had not shown after WAIT_S."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout  # a dev requirement, as live_server's

    page = browser.new_page(viewport={"width": 1440, "height": 900})
    started = time.monotonic()
    times: dict[str, float | None] = {"title_s": None, "first_chart_s": None}
    try:
        page.goto(url, wait_until="commit")
        page.locator(TITLE).first.wait_for(timeout=WAIT_S * 1000)
        times["title_s"] = time.monotonic() - started
        page.wait_for_function(HAS_DATA, timeout=max(1.0, WAIT_S - times["title_s"]) * 1000, polling=50)
        times["first_chart_s"] = time.monotonic() - started
    except PlaywrightTimeout:
        pass
    finally:
        page.close()
    return times


def _loads(browser, url: str, n: int) -> dict:
    loads = [_load(browser, url) for _ in range(n)]
    summary: dict = {}
    for key in ("title_s", "first_chart_s"):
        shown = [load[key] for load in loads if load[key] is not None]
        summary[key] = {"median": rnd(statistics.median(shown)) if shown else None,
                        "all": [None if load[key] is None else rnd(load[key]) for load in loads],
                        "not_shown_within_s": WAIT_S if len(shown) < n else None}
    return summary


def run(quick: bool = False) -> dict:
    loads = 1 if quick else 5
    with serve() as server, chromiums(0, 19) as (browser, others):
        small = f"{server}/?{urlencode(SMALL)}"
        _load(browser, small)  # warm: imports, caches, the workers' first job
        result = {"loads": loads, "quiet": _loads(browser, small, loads)}
        heavy_pages = []
        for seed in range(3):  # three other people: their own browser contexts, so their own sessions
            page = others.new_context(viewport={"width": 1440, "height": 900}).new_page()
            page.goto(f"{server}/?{urlencode({**HEAVY, 'seed': seed})}")
            heavy_pages.append(page)
        drawn = 0
        for page in heavy_pages:  # their charts drawn (or WAIT_S gone by): the heavy jobs are training
            try:
                page.wait_for_function(HAS_DATA, timeout=WAIT_S * 1000, polling=500)
                drawn += 1
            except Exception:  # playwright's TimeoutError: measured on regardless, and said
                pass
        result["beside_heavy"] = {**_loads(browser, small, loads), "heavy_pages_drawn": drawn}
    return result


if __name__ == "__main__":
    main_of("browser_rehearsal", __doc__, run)()
