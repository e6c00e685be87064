"""Two lanes of workers, so that small jobs never wait behind a heavy job's step.

A worker gives its running jobs turns in a round, but a turn cannot end inside a step: a job whose step
takes seconds (engine/serving/cost.py says which are heavy) would make every job sharing its worker wait
that long between turns. So heavy jobs train only in the heavy lane: the last `heavy_workers` workers (at
most all but one; a single worker has no heavy lane and the runner refuses heavy jobs), at most
`heavy_jobs_per_worker` each, and never beside a light job. Light jobs train in the light lane (the other
workers) and borrow a heavy-lane worker only while it hosts no heavy job and no heavy job is waiting, so an
idle server still uses all its cores. A heavy job may therefore wait (queued) for borrowed light jobs to end;
a light job never waits for a heavy one.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import TYPE_CHECKING

from engine.serving.cost import Limits
from engine.serving.views import LIVE

if TYPE_CHECKING:
    from engine.serving.mirror import JobMirror
    from engine.serving.pool import WorkerHandle


def heavy_lane(workers: int, limits: Limits) -> int:
    """How many workers the heavy lane has (the last ones by index)."""
    return max(0, min(limits.heavy_workers, workers - 1))


def pick_worker(job: JobMirror, jobs: Mapping[str, JobMirror], queue: Collection[str],
                workers: Sequence[WorkerHandle], total: int, limits: Limits) -> WorkerHandle | None:
    """The worker the queued `job` goes to now, or None if its lane has no free slot.

    jobs: the runner's jobs by id; queue: the ids of queued jobs; workers: the live workers; total: the pool's
    size (lanes are by index)."""
    live = [j for j in jobs.values() if j.status in LIVE]
    live_light, live_heavy = {j.id for j in live if not j.heavy}, {j.id for j in live if j.heavy}
    heavy, heavy_waiting = job.heavy, any(jobs[q].heavy for q in queue)
    first_heavy = total - heavy_lane(total, limits)
    best, best_load = None, None
    for w in workers:
        light = sum(j in live_light for j in w.jobs)
        heavy_load = sum(j in live_heavy for j in w.jobs)
        in_heavy_lane = w.index >= first_heavy
        if heavy:
            fits = in_heavy_lane and light == 0 and heavy_load < limits.heavy_jobs_per_worker
            load = heavy_load
        else:
            fits = light < limits.jobs_per_worker and (
                not in_heavy_lane or (heavy_load == 0 and not heavy_waiting))
            load = light
        if fits and (best_load is None or load < best_load):
            best, best_load = w, load
    return best
