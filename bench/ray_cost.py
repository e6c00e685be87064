"""Ray backend costs (engine/distributed/): starting a local Ray, a task's first run on a cold worker, a warm
sweep of small trainings against the same trainings one after another in this process, and how long a stop
takes to cancel running tasks.

`start_s`: `ray.init` of a local Ray with 2 CPUs (or joining RAY_ADDRESS). `first_task_s`: one short training
sent to the fresh Ray (a worker starts and imports torch). `sweep_speedup` = wall seconds of the sweep trained
here one after another / through RayBackend with warm workers (at most the number of CPUs; the 2 cores here
are shared). `cancel_s`: from the stop to `map` returning, two tasks cancelled mid-training each time (the
backend's promise: within 2 s). Without Ray installed it says so and measures nothing.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from bench.common import main_of, rnd
from engine.api import train
from engine.distributed import ray_session

LONG = {"hidden": "64,64", "steps": 200_000}  # minutes: only a cancel ends it


def _timed_map(backend: Any, items: list[dict], stop_after_s: float | None = None) -> tuple[float, float | None]:
    """Wall seconds of one map, and (with `stop_after_s`) seconds from the stop to map's return."""
    begun = time.perf_counter()
    asked: list[float] = []

    def should_stop() -> bool:
        if stop_after_s is not None and time.perf_counter() - begun >= stop_after_s:
            asked.append(time.perf_counter())
            return True
        return False

    backend.map(train, items, lambda index, result: None, should_stop)
    ended = time.perf_counter()
    return ended - begun, (ended - asked[0]) if asked else None


def run(quick: bool = False) -> dict[str, Any]:
    if not ray_session.installed():
        return {"measured": False, "why": f"Ray is not installed: {ray_session.INSTALL_HINT}"}
    from engine.distributed.ray_backend import RayBackend

    trials, steps, cancels = (4, 300, 1) if quick else (8, 2000, 3)
    items = [{"hidden": "32,32,32", "steps": steps, "seed": seed} for seed in range(trials)]
    start = time.perf_counter()
    backend = RayBackend(num_cpus=2)
    start_s = time.perf_counter() - start
    try:
        first_task_s, _ = _timed_map(backend, items[:1])
        _timed_map(backend, items)  # every worker warm (torch imported, the task's code loaded)
        ray_s, _ = _timed_map(backend, items)
        here = time.perf_counter()
        for item in items:
            train(item)
        here_s = time.perf_counter() - here
        cancel_s = [_timed_map(backend, [LONG, LONG], stop_after_s=2.0)[1] for _ in range(cancels)]
    finally:
        ray_session.shutdown()
    return {
        "start_s": rnd(start_s), "first_task_s": rnd(first_task_s),
        "sweep": f"{trials} trainings of a 3x32 net, {steps} steps each",
        "sweep_here_s": rnd(here_s), "sweep_ray_s": rnd(ray_s), "sweep_speedup": rnd(here_s / ray_s),
        "cancel_s": [rnd(c) for c in cancel_s], "cancel_s_max": rnd(max(cancel_s)),
        "cancel_s_median": rnd(statistics.median(cancel_s)), "cancel_target_s": 2.0,
        "meets_cancel_target": max(cancel_s) <= 2.0,
    }


main = main_of("ray_cost", __doc__, run)


if __name__ == "__main__":
    main()
