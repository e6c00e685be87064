"""The Guide's first load: training its worked example and building its figures, once per server.

- `build`: engine/lessons/worked_example.py's three runs trained, then every figure of the Guide built
  (app/guide_example.py), in this process; wall and CPU seconds. CPU seconds are what a quiet core takes; wall
  seconds grow with the machine's load. Target: a few seconds (`target_s`).
- `page`: the Guide opened in AppTest on a fresh server (the first viewer pays the build) and again (every
  later viewer: cached); wall and CPU seconds of the page run, the rendering of its figures included.

    .venv/bin/python -m bench.guide_cost [--quick]
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from bench.common import main_of, rnd

ROOT = Path(__file__).resolve().parent.parent
TARGET_S = 3.0


def _timed(work) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    work()
    return time.perf_counter() - wall, time.process_time() - cpu


def run(quick: bool) -> dict:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from streamlit.testing.v1 import AppTest

    from app.guide_example import build_figures
    from app.pages import GUIDE
    from engine.lessons.worked_example import train_example

    builds = [_timed(lambda: build_figures(train_example(0))) for _ in range(1 if quick else 3)]
    app = AppTest.from_file(str(ROOT / "app" / "main.py"), default_timeout=300).run()
    first = _timed(lambda: app.switch_page(GUIDE.script).run())
    again = _timed(app.run)
    wall, cpu = min(builds, key=lambda b: b[1])
    return {
        "build": {"wall_s": rnd(wall), "cpu_s": rnd(cpu), "target_s": TARGET_S, "meets_target": cpu <= TARGET_S},
        "page": {"first_wall_s": rnd(first[0]), "first_cpu_s": rnd(first[1]),
                 "cached_wall_s": rnd(again[0]), "cached_cpu_s": rnd(again[1]), "failed": bool(app.exception)},
        "load_average_1m": rnd(os.getloadavg()[0]),
    }


main = main_of("guide_cost", __doc__, run)

if __name__ == "__main__":
    main()
