"""RayBackend (engine/distributed/ray_backend.py) on a local Ray started here with 2 CPUs, once for the module:
the same results as training in this process, results handed back as each task ends, and a stop that cancels
running tasks within 2 s. The task is `engine.train` itself, so "same results" means every table and every
weight, bit for bit."""

from __future__ import annotations

import time

import pytest

pytest.importorskip("ray", reason="Ray is an optional install: pip install -r requirements-ray.txt")

import engine
from engine.distributed import ray_session
from engine.distributed.ray_backend import STOP_S, RayBackend

# One xdist worker runs every Ray test module in turn: one local Ray at a time on a small machine.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("ray")]

SMALL = [{"hidden": "8,8", "steps": 120, "seed": 3},
         {"hidden": "6", "activation": "relu", "optimizer": "adam", "lr": 0.01, "steps": 150, "seed": 11},
         {"dataset": "sine", "hidden": "8", "steps": 90, "probe_every": 30, "seed": 5}]
LONG = {"hidden": "64,64", "steps": 200_000}  # minutes of training: only a cancel ends it in time


@pytest.fixture(scope="module")
def backend():
    with pytest.MonkeyPatch.context() as env:
        env.delenv(ray_session.ADDRESS_VARIABLE, raising=False)  # a local Ray, whatever the machine says
        started = time.perf_counter()
        ray_backend = RayBackend(num_cpus=2)
        print(f"local Ray started in {time.perf_counter() - started:.1f} s")
        yield ray_backend
        ray_session.shutdown()


def test_results_match_training_here_bit_for_bit(backend):
    results: dict[int, engine.TrainResult] = {}
    order = []

    def on_result(index, result):
        order.append(index)
        results[index] = result

    backend.map(engine.train, SMALL, on_result, lambda: False)
    assert sorted(order) == [0, 1, 2]
    for index, config in enumerate(SMALL):
        here = engine.train(config)
        there = results[index]
        assert there.summary == here.summary
        for table in ("scalars", "layers", "hists"):
            assert getattr(there, table).equals(getattr(here, table)), (index, table)
        for run, state in here.weights.items():
            for name, tensor in state.items():
                assert there.weights[run][name].equal(tensor), (index, run, name)


def test_connect_is_once_per_process(backend):
    ray = ray_session.connect()
    assert ray is backend.ray and ray.is_initialized()
    assert RayBackend().ray is ray  # a second backend joins the same Ray instead of calling ray.init again


def test_stop_cancels_running_tasks_within_two_seconds(backend):
    # The module's first test left two warm workers (torch imported): both long tasks run well within 3 s.
    stop_at = time.monotonic() + 3.0
    asked = []

    def should_stop() -> bool:
        if time.monotonic() >= stop_at:
            asked.append(time.monotonic())
            return True
        return False

    results = []
    backend.map(engine.train, [LONG, LONG], lambda i, r: results.append(i), should_stop)
    latency = time.monotonic() - asked[0]
    print(f"stop returned {latency:.3f} s after it was asked")
    assert results == []
    assert latency <= STOP_S
    # Both CPUs are free again: a short task runs now, not after the long ones' minutes.
    quick = []
    begun = time.monotonic()
    backend.map(engine.train, [SMALL[0]], lambda i, r: quick.append(r.summary["status"]), lambda: False)
    assert quick == ["finished"]
    assert time.monotonic() - begun < 30


def test_a_stop_before_the_start_runs_nothing(backend):
    results = []
    backend.map(engine.train, SMALL, lambda i, r: results.append(i), lambda: True)
    assert results == []


def test_a_failing_task_raises_here_with_its_reason(backend):
    with pytest.raises(Exception, match="batch_size"):
        backend.map(engine.train, [{"batch_size": 0}], lambda i, r: None, lambda: False)
