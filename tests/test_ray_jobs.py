"""The Playground's job runner with its workers as Ray actors (engine/serving/ray_workers.py), on a local Ray
started here with 2 CPUs, once for the module: a job streams its snapshots while it trains, finishes with
engine.train's numbers, is shared by every viewer of its link, obeys its controls, and survives its actor's
death as a job on a killed worker process does."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator

import pytest

pytest.importorskip("ray", reason="Ray is an optional install: pip install -r requirements-ray.txt")

from engine.distributed import ray_session
from engine.serving.jobs import JobRunner
from engine.serving.ray_workers import BACKEND_VARIABLE
from engine.vocabulary.group import parse_group
from tests.same_numbers import assert_job_trains_like_engine_train
from tests.waiting import wait_for

# One xdist worker runs every Ray test module in turn: one local Ray at a time on a small machine.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("ray")]

LONG = {"hidden": "6,6", "samples": "200", "steps": "200000", "probe_every": "5"}  # never ends within a test


@pytest.fixture(scope="module")
def runner() -> Iterator[JobRunner]:
    with pytest.MonkeyPatch.context() as env:
        env.delenv(ray_session.ADDRESS_VARIABLE, raising=False)
        env.delenv("LAYERSCOPE_WORKERS", raising=False)
        env.setenv(BACKEND_VARIABLE, "ray")  # as a server started with LAYERSCOPE_BACKEND=ray
        ray_session.connect(num_cpus=2)
        with JobRunner(grace_s=60.0, publish_s=0.02) as shared:
            yield shared
        ray_session.shutdown()


def settled(runner: JobRunner, job_id: str, status: str):
    def check():
        job = runner.job(job_id)
        return job if job is not None and job.status == status and not job.pending else None
    return check


def test_the_runner_holds_one_ray_worker_per_cpu(runner: JobRunner) -> None:
    assert runner.backend == "ray" and runner.workers == 2
    stats = wait_for("both actors to say hello", lambda: all(runner.stats()["worker_pids"]) and runner.stats())
    assert stats["backend"] == "ray" and stats["workers"] == 2
    assert os.getpid() not in stats["worker_pids"]


def test_a_job_on_ray_streams_finishes_and_has_engine_trains_numbers(runner: JobRunner) -> None:
    mapping = {"hidden": "8,8", "samples": "300", "steps": "1500", "probe_every": "3",
               "b.activation": "relu", "b.optimizer": "adam", "b.lr": "0.01"}
    config = parse_group(mapping)
    job_id = runner.start(config, "viewer-1")
    assert runner.start(config, "viewer-2") == job_id  # one job per link, on Ray as locally
    seen = set()  # (status, step) pairs the page could have drawn
    deadline = time.monotonic() + 90
    while (job := runner.job(job_id)).status != "finished" and time.monotonic() < deadline:
        seen.add((job.status, job.step))
        time.sleep(0.02)
    assert job.status == "finished" and job.step == 1500
    running_steps = sorted(step for status, step in seen if status == "running" and 0 < step < 1500)
    assert len(running_steps) >= 3, f"snapshots should arrive while it trains, saw {sorted(seen)}"

    assert_job_trains_like_engine_train(runner, job_id, config)


def test_controls_act_on_a_job_on_ray(runner: JobRunner) -> None:
    job_id = runner.start(parse_group({**LONG, "seed": "1"}), "controls")
    wait_for("it trains", lambda: runner.job(job_id).step > 20)
    runner.pause(job_id)
    paused = wait_for("paused", settled(runner, job_id, "paused"))
    runner.step(job_id, 7)
    wait_for("seven more steps", lambda: (j := settled(runner, job_id, "paused")()) and j.step == paused.step + 7)
    runner.stop(job_id)
    stopped = wait_for("stopped", settled(runner, job_id, "stopped"))
    assert stopped.step == paused.step + 7


def test_a_dead_actor_fails_its_job_and_a_new_actor_takes_its_place(runner: JobRunner) -> None:
    """Last in the module: it kills one of the runner's actors."""
    victim = runner.start(parse_group({**LONG, "seed": "5"}), "s")
    wait_for("it trains", lambda: runner.job(victim).step > 0)
    pid = runner.job(victim).worker_pid
    os.kill(pid, signal.SIGKILL)
    failed = wait_for("its failure", lambda: (j := runner.job(victim)).status == "failed" and j, timeout=60)
    assert "worker process training this job stopped" in failed.message
    wait_for("a replacement actor", lambda: runner.stats()["workers"] == 2
             and pid not in runner.stats()["worker_pids"] and all(runner.stats()["worker_pids"]), timeout=60)
    fresh = runner.start(parse_group({"hidden": "4", "samples": "100", "steps": "150"}), "s")
    assert wait_for("a new job to finish", settled(runner, fresh, "finished"), timeout=60).step == 150
