"""The job runner: worker processes, controls, sharing, orphans, a killed worker, limits, determinism.

Small nets and few steps; every wait has a deadline; every runner is shut down by its fixture.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator

import numpy as np
import pytest

from engine.serving.jobs import (
    JobError,
    JobLimitError,
    JobRunner,
    JobView,
    UnknownJobError,
    default_workers,
)
from engine.vocabulary.group import GroupConfig, parse_group
from tests.same_numbers import assert_job_trains_like_engine_train
from tests.waiting import wait_for

LONG = {"hidden": "6,6", "samples": "200", "steps": "200000", "probe_every": "5"}  # never ends within a test


def group(**overrides: object) -> GroupConfig:
    return parse_group({**LONG, **{k.replace("__", "."): str(v) for k, v in overrides.items()}})




def view(runner: JobRunner, job_id: str) -> JobView:
    job = runner.job(job_id)
    assert job is not None, f"job {job_id} is gone"
    return job


def settled(runner: JobRunner, job_id: str, status: str) -> Callable[[], JobView | None]:
    """The worker has confirmed every control and the job is in `status`."""
    def check() -> JobView | None:
        job = view(runner, job_id)
        return job if job.status == status and not job.pending else None
    return check


@pytest.fixture(scope="module")
def runner() -> Iterator[JobRunner]:
    with JobRunner(workers=2, grace_s=60.0, publish_s=0.02) as shared:
        yield shared


@pytest.fixture
def make_runner() -> Iterator[Callable[..., JobRunner]]:
    made: list[JobRunner] = []

    def make(**options: object) -> JobRunner:
        made.append(JobRunner(**{"publish_s": 0.02, **options}))
        return made[-1]

    yield make
    for each in made:
        each.shutdown()


def test_pool_size_is_the_cores_unless_the_environment_says(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LAYERSCOPE_WORKERS", raising=False)
    assert default_workers() == len(os.sched_getaffinity(0))
    monkeypatch.setenv("LAYERSCOPE_WORKERS", "3")
    assert default_workers() == 3
    monkeypatch.setenv("LAYERSCOPE_WORKERS", "many")
    with pytest.raises(JobError, match="LAYERSCOPE_WORKERS"):
        default_workers()


def test_pause_step_resume_stop_and_reset(runner: JobRunner) -> None:
    job_id = runner.start(group(seed=1), "controls", paused=True)
    job = wait_for("a paused start", settled(runner, job_id, "paused"))
    assert job.step == 0 and not job.snapshots()
    assert job.prediction is not None and job.prediction.step == 0  # the initial net's output, for the page

    runner.step(job_id, 7)
    job = wait_for("7 steps, then a pause", settled(runner, job_id, "paused"))
    assert job.step == 7
    first = job.snapshots()[0]
    assert first.step == 0
    runner.step(job_id, 1)
    assert wait_for("one more step", settled(runner, job_id, "paused")).step == 8

    runner.resume(job_id)
    wait_for("training on", lambda: view(runner, job_id).step > 200)
    runner.pause(job_id)
    paused_at = wait_for("a pause", settled(runner, job_id, "paused")).step
    time.sleep(0.2)
    assert view(runner, job_id).step == paused_at, "a paused job moved"
    runner.step(job_id, 13)
    assert wait_for("13 steps", settled(runner, job_id, "paused")).step == paused_at + 13

    runner.resume(job_id)
    runner.stop(job_id)
    job = wait_for("a stop", settled(runner, job_id, "stopped"))
    assert set(job.run_statuses.values()) == {"stopped"}
    runner.resume(job_id)  # controls on an ended job do nothing
    assert view(runner, job_id).status == "stopped"

    runner.reset(job_id)
    job = wait_for("a fresh start", lambda: view(runner, job_id).status == "running" and view(runner, job_id))
    again = wait_for("the first snapshot again", lambda: view(runner, job_id).snapshots())[0]
    assert again.step == 0
    np.testing.assert_array_equal(again.scalars, first.scalars)  # same seed, same initial weights
    for before, after in zip(first.layers, again.layers):
        np.testing.assert_array_equal(before, after)
    runner.stop(job_id)


def test_identical_configs_share_one_job(runner: JobRunner) -> None:
    first = runner.start(group(seed=2), "viewer-1")
    second = runner.start(parse_group({**LONG, "seed": "2"}), "viewer-2")  # the same link, parsed again
    assert first == second
    assert runner.start(group(seed=2), "viewer-1") == first  # starting again only subscribes again
    assert wait_for("two viewers", lambda: view(runner, first).subscribers == 2)
    other = runner.start(group(seed=2, lr=0.3), "viewer-1")
    assert other != first
    assert group(seed=2).fingerprint() != group(seed=2, lr=0.3).fingerprint()
    assert set(runner.session_jobs("viewer-1")) == {first, other}
    for job_id in (first, other):
        runner.stop(job_id)


def test_orphans_end_after_the_grace_period_unless_held(make_runner: Callable[..., JobRunner]) -> None:
    runner = make_runner(workers=1, grace_s=0.5)
    shared = runner.start(group(seed=3), "session-1")
    assert runner.start(group(seed=3), "session-2") == shared
    alone = runner.start(group(seed=4), "session-1")

    runner.release_session("session-1")
    assert runner.job(alone) is not None, "removed before its grace period"
    wait_for("the orphan's removal", lambda: runner.job(alone) is None, timeout=10)
    time.sleep(0.7)  # past the grace period: the job another session holds lives on
    job = view(runner, shared)
    assert job.status == "running" and job.subscribers == 1
    with pytest.raises(UnknownJobError):
        runner.pause(alone)

    runner.release_session("session-2")
    wait_for("the last orphan's removal", lambda: runner.job(shared) is None, timeout=10)
    assert runner.stats()["jobs"] == 0


def test_limits_refuse_with_a_clear_message(make_runner: Callable[..., JobRunner]) -> None:
    runner = make_runner(workers=1, max_session_jobs=2, max_jobs=3, jobs_per_worker=1)
    first = runner.start(group(seed=10), "a")
    second = runner.start(group(seed=11), "a")
    with pytest.raises(JobLimitError, match=r"its limit \(max_session_jobs = 2\)"):
        runner.start(group(seed=12), "a")
    third = runner.start(group(seed=12), "b")
    assert view(runner, first).status == "running"  # one slot on the one worker: the rest wait in line
    assert (view(runner, second).status, view(runner, second).queue_position) == ("queued", 1)
    assert (view(runner, third).status, view(runner, third).queue_position) == ("queued", 2)
    with pytest.raises(JobLimitError, match=r"its limit \(max_jobs = 3\)"):
        runner.start(group(seed=13), "c")
    assert runner.start(group(seed=10), "c") == first  # sharing a job costs the server nothing

    runner.stop(first)
    wait_for("the next in line to start", lambda: view(runner, second).status == "running")
    assert view(runner, third).queue_position == 1
    fourth = runner.start(group(seed=14), "a")  # the session's ended job makes room for it
    assert first not in runner.session_jobs("a") and fourth in runner.session_jobs("a")
    assert view(runner, fourth).queue_position == 2


def test_thirty_jobs_on_two_workers_all_advance(runner: JobRunner) -> None:
    """A workshop's worth: each job gets a short turn in its worker's round, so none waits for the others."""
    ids = [runner.start(group(seed=100 + i, hidden="8,8"), f"participant-{i}") for i in range(30)]
    assert {view(runner, i).status for i in ids} == {"running"}  # 2 workers x 16 slots: nobody queued
    # a liveness check, not a speed one: the time only bounds a hang on a busy machine
    wait_for("every job past step 100", lambda: all(view(runner, i).step > 100 for i in ids), timeout=90)
    assert len({view(runner, i).worker_pid for i in ids}) == 2
    for job_id in ids:
        runner.stop(job_id)
    for job_id in ids:
        wait_for("stopped", settled(runner, job_id, "stopped"))


def test_a_finished_job_has_engine_trains_numbers(runner: JobRunner) -> None:
    mapping = {"hidden": "8,8", "samples": "300", "steps": "240", "probe_every": "3", "dropout": "0.1",
               "b.activation": "relu", "b.init": "he_normal", "b.optimizer": "adam", "b.lr": "0.01"}
    config = parse_group(mapping)
    job_id = runner.start(config, "determinism")
    job = wait_for("the group to finish", settled(runner, job_id, "finished"), timeout=60)
    assert job.step == 240 and job.run_statuses == {"a": "finished", "b": "finished"}
    assert job.prediction is not None and job.prediction.step == 240
    assert job.points.raw_train.shape[1] == 2 and len(job.points.y_train) == len(job.points.raw_train)

    assert_job_trains_like_engine_train(runner, job_id, config)
    assert runner.tables(job_id) is runner.tables(job_id)  # built once per version, shared
    assert runner.tables(job_id).version == view(runner, job_id).version
    assert set(runner.weights(job_id)) == {"a", "b"}
    assert runner.start(config, "late-viewer") == job_id  # a finished job is still shared


def test_a_killed_worker_fails_its_jobs_and_the_pool_recovers(runner: JobRunner) -> None:
    """Last in the module: it kills one of the shared runner's workers."""
    victim = runner.start(group(seed=5), "s")
    bystander = runner.start(group(seed=6), "s")
    wait_for("both training", lambda: all(view(runner, i).step > 0 for i in (victim, bystander)))
    pid = view(runner, victim).worker_pid
    assert pid != view(runner, bystander).worker_pid  # each new job goes to the least loaded worker
    os.kill(pid, signal.SIGKILL)

    failed = wait_for("the victim's failure", lambda: view(runner, victim).status == "failed" and view(runner, victim))
    assert "killed" in failed.message and "SIGKILL" in failed.message
    assert set(failed.run_statuses.values()) == {"failed"}
    step = view(runner, bystander).step
    wait_for("the other worker's job moving on", lambda: view(runner, bystander).step > step)
    with pytest.raises(JobError, match="weights"):
        runner.weights(victim)

    wait_for("a replacement worker", lambda: runner.stats()["workers"] == 2
             and pid not in runner.stats()["worker_pids"])
    fresh = runner.start(parse_group({"hidden": "4", "samples": "100", "steps": "150"}), "s")
    again = runner.start(group(seed=5), "s")  # a failed job is not shared: its config trains afresh
    assert again != victim
    assert wait_for("a new job to finish", settled(runner, fresh, "finished"), timeout=60).step == 150
    runner.stop(again)
    runner.reset(victim)  # a failed job can be trained again
    wait_for("the reset victim running", lambda: view(runner, victim).step > 0)
