"""A small job's time to first chart with 0 and 3 heavy jobs of other sessions training (the heavy lane).

- `first_chart_s`: from `start` of a `hidden=2x8` run to its first snapshot (the page's first chart), alone
  and beside three heavy jobs (2 x 1024 units, batch 4,096, a probe every step: seconds per step).
- `heavy`: the heavy jobs' estimated and measured seconds per step, and the server's speed factor after.
- `page_load_s` (full mode only): the Playground's first run through AppTest while the heavy jobs train.

    .venv/bin/python -m bench.fair_lanes [--quick]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from bench.common import main_of, rnd

ROOT = Path(__file__).resolve().parent.parent
HEAVY = {"hidden": "2x1024", "batch_size": "4096", "samples": "8000", "probe_every": "1", "steps": "200000"}
SMALL = {"hidden": "2x8", "samples": "200", "steps": "200000"}


def _until(what, seconds: float = 60.0) -> float:
    """Wait until `what()` is true; the seconds it took (or the deadline's)."""
    started = time.monotonic()
    while not what() and time.monotonic() - started < seconds:
        time.sleep(0.01)
    return time.monotonic() - started


def _first_chart(runner, seed: int, session: str) -> float:
    from engine.vocabulary.group import parse_group

    started = time.monotonic()
    job_id = runner.start(parse_group({**SMALL, "seed": str(seed)}), session)
    _until(lambda: runner.job(job_id).snapshots())
    waited = time.monotonic() - started
    runner.stop(job_id)
    return waited


def _page_load() -> float:
    from streamlit.testing.v1 import AppTest

    app = AppTest.from_file(str(ROOT / "app" / "main.py"), default_timeout=120)
    started = time.monotonic()
    app.run()
    return time.monotonic() - started


def run(quick: bool) -> dict:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from engine.serving.cost import estimate
    from engine.serving.jobs import JobRunner
    from engine.vocabulary.group import parse_group

    runner = JobRunner(workers=2, publish_s=0.02)
    try:
        _first_chart(runner, 0, "warm-up")  # both workers up: their imports take seconds
        alone = [_first_chart(runner, seed, "small") for seed in range(1, 3 if quick else 6)]
        heavies = [runner.start(parse_group({**HEAVY, "seed": str(s)}), f"heavy-{s}") for s in range(3)]
        _until(lambda: all(runner.job(j).status == "running" and not runner.job(j).pending for j in heavies))
        busy = [_first_chart(runner, seed, "small") for seed in range(10, 12 if quick else 15)]
        page = None if quick else _page_load()
        _until(lambda: all(runner.job(j).step >= 2 for j in heavies), 10 if quick else 60)
        measured = [1 / runner.job(j).steps_per_s for j in heavies if runner.job(j).steps_per_s]
        return {
            "first_chart_s": {"alone": rnd(max(alone)), "beside_3_heavy": rnd(max(busy)),
                              "tries": len(busy)},
            "heavy": {"estimated_step_s": rnd(estimate(parse_group(HEAVY)).step_s),
                      "wall_s_per_step_each_sharing_one_worker": [rnd(m) for m in measured],
                      "speed_factor": rnd(runner.speed.factor)},
            "page_load_s": rnd(page) if page is not None else None,
            "workers": 2,
        }
    finally:
        runner.shutdown()


main = main_of("fair_lanes", __doc__, run)

if __name__ == "__main__":
    main()
