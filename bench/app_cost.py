"""Server cost of the Playground page, measured in-process with Streamlit's AppTest.

- `refresh_ms`: server CPU time of one run of the live fragment for a 10-layer run whose figures are
  already built (what every viewer pays per refresh, about once a second); target <= 30 ms.
  `full_page_run_ms` is a whole page run, sidebar included, which happens only on interaction.
- `build_ms`: the same when a new data version arrives and every figure is built once (shared by all
  viewers of the job).
- `latency_s`: worker-to-server latency of the last snapshot (target <= 1 s).
- `compare`: the Compare page's live fragment for four runs of the same 10-layer net (four activations)
  against the Playground's for one: server CPU per refresh and per new data version; target <= 2x.
- `concurrent`: 8 runs on the workers at once: every run advances; aggregate steps/s vs one run alone.

    .venv/bin/python -m bench.app_cost [--quick]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

from app.pages import PLAYGROUND
from bench.common import main_of, rnd

ROOT = Path(__file__).resolve().parent.parent
TARGET_REFRESH_MS = 30.0
TEN_LAYERS = {"hidden": "10x32", "activation": "sigmoid", "init": "standard", "probe_every": "10"}
FOUR_ACTIVATIONS = {"b.activation": "tanh", "c.activation": "relu", "d.activation": "elu"}
TARGET_COMPARE_RATIO = 2.0


def _wait(runner, job_id: str, statuses: tuple[str, ...], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while runner.job(job_id).status not in statuses and time.monotonic() < deadline:
        time.sleep(0.05)


def _moving(runner, job_ids: list[str], seconds: float = 60.0) -> None:
    """Wait until every job has trained a first step (workers start in a second or two)."""
    deadline = time.monotonic() + seconds
    while any(runner.job(j).step == 0 for j in job_ids) and time.monotonic() < deadline:
        time.sleep(0.1)


# The live fragment alone, as a guarded script: spawned workers re-import the main script.
FRAGMENT_SCRIPT = """
import sys
if __name__ == "__main__":
    sys.path.insert(0, {root!r})
    import streamlit as st
    from app.{page} import _live
    from app.run_panel import FirstView
    from app.runtime import get_runner
    _live(FirstView(get_runner().job(st.query_params["job"])))  # one view per run, as the page hands it over
"""


def _page_cost(quick: bool) -> dict:
    from streamlit.testing.v1 import AppTest

    from app.runtime import get_runner

    steps = 600 if quick else 5000
    app = AppTest.from_file(str(ROOT / "app" / "main.py"), default_timeout=120)
    for key, value in {**TEN_LAYERS, "steps": str(steps)}.items():
        app.query_params[key] = value
    app.run()
    app.button(key=f"{PLAYGROUND.prefix}train").click().run()
    runner = get_runner()
    job_id = app.session_state[f"{PLAYGROUND.prefix}job_id"]
    _wait(runner, job_id, ("finished",), 120)
    started = time.process_time()
    app.run()  # new version: every figure is built
    build_ms = (time.process_time() - started) * 1000
    refreshes = []
    for _ in range(3 if quick else 15):
        started = time.process_time()
        app.run()
        refreshes.append((time.process_time() - started) * 1000)
    # What a viewer pays each second in production: only the live fragment reruns, not the sidebar.
    _, fragment_runs = _fragment_cost("playground", job_id, 3 if quick else 15)
    job = runner.job(job_id)
    refresh = statistics.median(fragment_runs)
    return {
        "net": "10x32 sigmoid, probe_every=10", "steps": steps, "points": len(job.snapshots()),
        "build_ms": rnd(build_ms), "full_page_run_ms": rnd(statistics.median(refreshes)),
        "refresh_ms": rnd(refresh), "target": f"<= {TARGET_REFRESH_MS} ms",
        "meets_target": refresh <= TARGET_REFRESH_MS, "latency_s": job.latency_s,
        "charts": len(app.get("plotly_chart")),
    }


def _fragment_cost(page: str, job_id: str, repeats: int) -> tuple[float, list[float]]:
    """Server CPU (ms) of a page's live fragment for a finished job: the first run (every figure built
    for the job's data version) and each of `repeats` refreshes after it."""
    from streamlit.testing.v1 import AppTest

    with tempfile.TemporaryDirectory() as folder:
        script = Path(folder) / "fragment.py"
        script.write_text(FRAGMENT_SCRIPT.format(root=str(ROOT), page=page))
        fragment = AppTest.from_file(str(script), default_timeout=120)
        fragment.query_params["job"] = job_id
        started = time.process_time()
        fragment.run()
        first = (time.process_time() - started) * 1000
        runs = []
        for _ in range(repeats):
            started = time.process_time()
            fragment.run()
            runs.append((time.process_time() - started) * 1000)
    assert not fragment.exception, fragment.exception
    return first, runs


def _compare_cost(quick: bool) -> dict:
    """The Compare page for four runs against the Playground for one, on the same net and steps."""
    from app.runtime import get_runner
    from engine.vocabulary.group import parse_group

    runner = get_runner()
    steps = 600 if quick else 5000
    repeats = 3 if quick else 15
    single = runner.start(parse_group({**TEN_LAYERS, "steps": str(steps), "seed": "7"}), "bench-compare")
    four = runner.start(parse_group({**TEN_LAYERS, **FOUR_ACTIVATIONS, "steps": str(steps), "seed": "7"}),
                        "bench-compare")
    for job_id in (single, four):
        _wait(runner, job_id, ("finished",), 240)
    single_build, single_runs = _fragment_cost("playground", single, repeats)
    four_build, four_runs = _fragment_cost("compare", four, repeats)
    ratio = statistics.median(four_runs) / statistics.median(single_runs)
    runner.release_session("bench-compare")
    return {
        "net": "10x32, four activations (sigmoid, tanh, relu, elu) vs one", "steps": steps,
        "one_run_refresh_ms": rnd(statistics.median(single_runs)),
        "four_runs_refresh_ms": rnd(statistics.median(four_runs)),
        "refresh_ratio": rnd(ratio), "target": f"<= {TARGET_COMPARE_RATIO}x",
        "meets_target": ratio <= TARGET_COMPARE_RATIO,
        "one_run_new_version_ms": rnd(single_build), "four_runs_new_version_ms": rnd(four_build),
    }


def _concurrent(quick: bool) -> dict:
    from engine.serving.jobs import JobRunner
    from engine.vocabulary.group import parse_group

    runner = JobRunner(workers=2, grace_s=5.0)
    try:
        seconds = 3.0 if quick else 10.0
        alone = runner.start(parse_group({"steps": "200000", "seed": "100"}), "bench")
        _moving(runner, [alone])
        first = runner.job(alone).step
        time.sleep(seconds)
        single = (runner.job(alone).step - first) / seconds
        runner.stop(alone)
        jobs = [runner.start(parse_group({"steps": "200000", "seed": str(i)}), f"bench{i}") for i in range(8)]
        _moving(runner, jobs)
        before = [runner.job(j).step for j in jobs]
        time.sleep(seconds)
        after = [runner.job(j).step for j in jobs]
        rates = [(b - a) / seconds for a, b in zip(before, after)]
        return {"runs": 8, "workers": 2, "every_run_advanced": all(r > 0 for r in rates),
                "aggregate_steps_per_s": rnd(sum(rates)), "one_run_alone_steps_per_s": rnd(single),
                "aggregate_vs_alone": rnd(sum(rates) / single) if single else None,
                "slowest_run_steps_per_s": rnd(min(rates))}
    finally:
        runner.shutdown()


def run(quick: bool) -> dict:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    # Concurrency first: AppTest leaves its script as __main__, which later spawned workers re-import.
    concurrent = _concurrent(quick)
    return {"page": _page_cost(quick), "compare": _compare_cost(quick), "concurrent": concurrent}


main = main_of("app_cost", __doc__, run)

if __name__ == "__main__":
    main()
