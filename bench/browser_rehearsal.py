"""What a person sees in Chromium: time to the page's title and to its first chart with data, on a warm
server, quiet and with three heavy jobs of other sessions training.

- `quiet`: the median (and all) of 5 loads of a small autorun link: `title_s` (the page's heading shows)
  and `first_chart_s` (a Plotly chart holds data points).
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


def _load(browser, url: str) -> dict:
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    started = time.monotonic()
    page.goto(url, wait_until="commit")
    page.locator(TITLE).first.wait_for(timeout=60_000)
    title_s = time.monotonic() - started
    page.wait_for_function(HAS_DATA, timeout=60_000, polling=50)
    first_chart_s = time.monotonic() - started
    page.close()
    return {"title_s": title_s, "first_chart_s": first_chart_s}


def _loads(browser, url: str, n: int) -> dict:
    loads = [_load(browser, url) for _ in range(n)]
    return {key: {"median": rnd(statistics.median(load[key] for load in loads)),
                  "all": [rnd(load[key]) for load in loads]} for key in ("title_s", "first_chart_s")}


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
        for page in heavy_pages:
            page.wait_for_function(HAS_DATA, timeout=120_000, polling=500)
        result["beside_heavy"] = _loads(browser, small, loads)
    return result


if __name__ == "__main__":
    main_of("browser_rehearsal", __doc__, run)()
