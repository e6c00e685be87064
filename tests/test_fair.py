"""Fair and safe: admission by cost, a heavy lane that small jobs never wait behind, limits that hold.

The rehearsal starts three heavy jobs (seconds per step on a 2-core machine) in other sessions, then a small
one, and bounds the small one's time to its first chart. Every wait has a deadline.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest

from engine.serving.cost import Limits, admit, estimate
from engine.serving.jobs import LIVE, JobLimitError, JobRunner
from engine.vocabulary.group import GroupConfig, parse_group
from tests.test_jobs import group, view
from tests.waiting import wait_for

# One step takes seconds here (2 x 1024 units, 4,096 examples, a probe at every step), within max_step_s.
HEAVY = {"hidden": "2x1024", "batch_size": "4096", "samples": "8000", "probe_every": "1", "steps": "200000"}
SMALL = {"hidden": "2x8", "samples": "200", "steps": "200000"}
# The largest config the widgets allow, as reported: seconds to a minute per step and gigabytes of memory.
HUGE = {"hidden": "50x318", "batch_size": "4096", "samples": "50000", "probe_every": "1", "steps": "200000",
        "b.lr": "0.03", "c.lr": "0.2", "d.lr": "0.3"}
FIRST_CHART_S = 2.0


def heavy(seed: int) -> GroupConfig:
    return parse_group({**HEAVY, "seed": str(seed)})


@pytest.fixture
def runner() -> Iterator[JobRunner]:
    with JobRunner(workers=2, publish_s=0.02) as made:
        yield made


def test_the_cost_model_orders_configs_and_refuses_the_reported_one() -> None:
    limits = Limits()
    small, big, huge = estimate(parse_group(SMALL)), estimate(heavy(0)), estimate(parse_group(HUGE))
    assert small.step_s < limits.heavy_step_s < big.step_s < limits.max_step_s < huge.step_s
    assert small.bytes < big.bytes < limits.max_job_bytes < huge.bytes
    assert not admit(small, limits, heavy_lane=1) and admit(big, limits, heavy_lane=1)
    with pytest.raises(JobLimitError, match=r"GB per job \(max_job_bytes\)"):
        admit(huge, limits, heavy_lane=1)
    with pytest.raises(JobLimitError, match=r"5.0 s per step \(max_step_s\)"):
        admit(estimate(parse_group({**HEAVY, "hidden": "4x1024"})), limits, heavy_lane=1)
    with pytest.raises(JobLimitError, match=r"one worker process.*100 ms per step \(heavy_step_s\)"):
        admit(big, limits, heavy_lane=0)


def test_a_small_job_gets_its_first_chart_within_2_s_beside_three_heavy_jobs(runner: JobRunner) -> None:
    warm = runner.start(parse_group({**SMALL, "seed": "1"}), "warm-up")  # both workers up: imports take seconds
    wait_for("the warm-up's first chart", lambda: view(runner, warm).snapshots())
    runner.stop(warm)
    heavies = [runner.start(heavy(seed), f"heavy-{seed}") for seed in range(3)]
    wait_for("the heavy jobs on their worker", lambda: all(
        view(runner, j).status == "running" and not view(runner, j).pending for j in heavies))

    started = time.monotonic()
    small = runner.start(parse_group({**SMALL, "seed": "2"}), "small")
    wait_for("the small job's first chart", lambda: view(runner, small).snapshots(), timeout=30)
    waited = time.monotonic() - started
    assert waited < FIRST_CHART_S, f"the small job's first chart took {waited:.1f} s beside three heavy jobs"
    heavy_pids = {view(runner, j).worker_pid for j in heavies}
    assert view(runner, small).worker_pid not in heavy_pids
    # ... and the heavy lane yields the CPU: its process runs below the light lane's priority
    (heavy_pid,) = heavy_pids
    light_pid = view(runner, small).worker_pid
    lowered = os.getpriority(os.PRIO_PROCESS, heavy_pid) - os.getpriority(os.PRIO_PROCESS, light_pid)
    assert lowered == runner.limits.heavy_niceness > 0


def test_sixteen_quick_trains_from_one_session_never_queue_other_sessions() -> None:
    """Train with changed settings, as the page does it: start the new config, then release the old job."""
    with JobRunner(workers=2, publish_s=0.02, max_session_jobs=8, jobs_per_worker=4) as runner:
        current, seen = None, []
        for i in range(16):
            new = runner.start(group(seed=300 + i, lr=0.01 * (i + 1)), "presser")
            if current is not None and current != new:
                runner.release(current, "presser")
            current = new
            seen.append(new)
        live = [j for j in seen if runner.job(j) is not None and runner.job(j).status in LIVE]
        assert len(live) <= 8, f"{len(live)} of the presser's jobs still train"
        other = runner.start(group(seed=999), "someone-else")
        assert view(runner, other).status == "running", "another person's new job waits behind released ones"
        assert runner.stats()["queued"] == 0


def test_limit_messages_name_the_limit_its_value_and_what_to_do() -> None:
    with JobRunner(workers=1, publish_s=0.02, max_session_jobs=1, max_jobs=2) as runner:
        runner.start(group(seed=20), "a")
        with pytest.raises(JobLimitError, match=r"its limit \(max_session_jobs = 1\): stop one") as refused:
            runner.start(group(seed=21), "a")
        assert "1 jobs" in str(refused.value)
        runner.start(group(seed=22), "b")
        with pytest.raises(JobLimitError, match=r"training 2 jobs, its limit \(max_jobs = 2\): wait for one"):
            runner.start(group(seed=23), "c")
        with pytest.raises(JobLimitError, match=r"about [\d.]+ s per training step.*\(max_job_bytes\)"):
            runner.start(parse_group(HUGE), "d")
        with pytest.raises(JobLimitError, match=r"one worker process"):  # no heavy lane on one worker
            runner.start(heavy(0), "d")
        assert runner.stats()["jobs"] == 2
