"""The runner <-> worker protocol (engine/serving/protocol.py): every type crosses a pipe, each end keeps
serving past what it does not know, and the gen/cseq rules hold on both ends."""

from __future__ import annotations

import dataclasses
import inspect
import os
import pickle
import time
from collections.abc import Iterator

import numpy as np
import pytest

from engine.serving import protocol
from engine.serving.jobs import JobRunner
from engine.serving.mirror import JobMirror
from engine.serving.protocol import (
    Control,
    Create,
    Drop,
    Failed,
    Hello,
    Pause,
    Progress,
    Quit,
    Resume,
    Retiring,
    Step,
    Stop,
    Update,
    WeightsReply,
    WeightsRequest,
)
from engine.serving.worker import _Host
from engine.training.data import make_dataset
from engine.training.predictions import predict
from engine.training.trainer import GroupTrainer
from engine.vocabulary.group import GroupConfig, parse_group
from tests.waiting import wait_for

SMALL = {"hidden": "4", "samples": "100", "steps": "5000", "probe_every": "5"}


def small(**overrides: object) -> GroupConfig:
    return parse_group({**SMALL, **{k: str(v) for k, v in overrides.items()}})


class Pipe:
    """Stands in for the worker's end of its pipe: keeps what is sent."""

    def __init__(self) -> None:
        self.sent: list = []

    def send(self, message: object) -> None:
        self.sent.append(message)


def progress(**fields: object) -> Progress:
    defaults = {"cseq": 0, "state": "running", "step": 0, "steps_per_s": 0.0, "statuses": ["running"],
                "end_step": [None], "end_loss": [None], "snapshots": [], "sent": time.time()}
    return Progress(**{**defaults, **fields})




# ---------------------------------------------------------------------------------------------- the types


def test_every_command_and_message_round_trips_through_pickle() -> None:
    group = small()
    trainer = GroupTrainer(group)
    snapshots = trainer.advance(10)
    weights = {"a": {name: t.detach().numpy().copy() for name, t in trainer.state_dict(0).items()}}
    full = progress(step=10, snapshots=snapshots, ranges=trainer.hist_ranges(), prediction=predict(trainer),
                    end_loss=[float("nan")])
    examples = [
        Create("job1", 2, 3, group, None), Create("job1", 0, 0, group, 7),
        Pause("job1", 2, 4), Resume("job1", 2, 5), Stop("job1", 2, 6), Step("job1", 2, 7, 13),
        Drop("job1"), WeightsRequest(9, "job1", 2), Quit(),
        Hello(1, os.getpid()), Update("job1", 2, full), Update("job1", 2, progress()), Failed("job1", 2, "boom"),
        WeightsReply(9, weights), WeightsReply(9, None, "the job is no longer on its worker"),
        Retiring(1, 900 * 2**20),
    ]
    defined = {cls for _, cls in inspect.getmembers(protocol, inspect.isclass)
               if dataclasses.is_dataclass(cls) and cls.__module__ == protocol.__name__}
    assert {type(e) for e in examples} | {Progress, Control} == defined, "a protocol type without an example here"
    for example in examples:
        assert getattr(type(example), "__slots__", None) is not None
        for field in dataclasses.fields(example)[:1]:
            with pytest.raises(dataclasses.FrozenInstanceError):
                setattr(example, field.name, None)
        back = pickle.loads(pickle.dumps(example, protocol=pickle.HIGHEST_PROTOCOL))
        assert equal(back, example), type(example).__name__
    assert not equal(Update("job1", 2, full), Update("job1", 2, progress(step=10)))  # `equal` can tell


def equal(a: object, b: object) -> bool:
    """Deep equality through dataclasses, containers and numpy arrays (NaN equals NaN)."""
    if type(a) is not type(b):
        return False
    if dataclasses.is_dataclass(a):
        return all(equal(getattr(a, f.name), getattr(b, f.name)) for f in dataclasses.fields(a))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(equal(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(equal(x, y) for x, y in zip(a, b))
    if isinstance(a, np.ndarray):
        return a.dtype == b.dtype and np.array_equal(a, b, equal_nan=a.dtype.kind == "f")
    if isinstance(a, float) and a != a:
        return b != b
    return a == b


# ---------------------------------------------------------------------------------------------- the worker


def test_the_worker_reports_an_unknown_command_and_serves_on(capfd: pytest.CaptureFixture[str]) -> None:
    pipe = Pipe()
    host = _Host(pipe)
    for junk in (("create", "job1", 0, 0, small(), None), "quit", None):
        assert host.handle(junk) is True  # not a quit, not a crash
    assert "unknown command" in capfd.readouterr().err
    assert not pipe.sent and not host.jobs

    assert host.handle(Create("job1", 0, 0, small(), 0)) is True  # still serves
    assert isinstance(pipe.sent[-1], Update) and pipe.sent[-1].progress.state == "paused"
    assert host.handle(Quit()) is False


def test_the_worker_ignores_controls_of_another_generation() -> None:
    pipe = Pipe()
    host = _Host(pipe)
    host.handle(Create("job1", 1, 0, small(), 0))
    sent = len(pipe.sent)
    host.handle(Resume("job1", 0, 1))  # from before a reset
    host.handle(Step("other", 1, 1, 5))  # a job this worker does not host
    assert len(pipe.sent) == sent and not host.any_running()
    host.handle(Step("job1", 1, 1, 5))
    assert host.any_running() and pipe.sent[-1].progress.cseq == 1


def test_a_weights_request_for_an_old_generation_gets_a_reason_not_weights() -> None:
    pipe = Pipe()
    host = _Host(pipe)
    host.handle(Create("job1", 1, 0, small(), 0))
    host.handle(WeightsRequest(7, "job1", 0))
    reply = pipe.sent[-1]
    assert isinstance(reply, WeightsReply) and reply.request == 7 and reply.weights is None and reply.error
    host.handle(WeightsRequest(8, "job1", 1))
    assert pipe.sent[-1].request == 8 and set(pipe.sent[-1].weights) == {"a"} and pipe.sent[-1].error is None


# ---------------------------------------------------------------------------------------------- the runner


def test_the_mirror_takes_the_workers_state_only_once_it_has_seen_every_control() -> None:
    group = small()
    mirror = JobMirror("job1", group.fingerprint(), group, make_dataset(group.base))
    mirror.status, mirror.cseq, mirror.acked = "paused", 2, 1  # two controls sent, one confirmed
    assert mirror.apply(progress(cseq=1, state="running", step=50)) is False
    assert (mirror.step, mirror.status, mirror.acked) == (50, "paused", 1)  # numbers filed, state not taken
    assert mirror.apply(progress(cseq=2, state="paused", step=51, statuses=["running"])) is True
    assert (mirror.step, mirror.status, mirror.acked) == (51, "paused", 2)


@pytest.fixture
def runner() -> Iterator[JobRunner]:
    with JobRunner(workers=1, publish_s=0.0) as made:
        yield made


def test_the_runner_ignores_messages_of_an_old_generation_or_another_worker(runner: JobRunner) -> None:
    job_id = runner.start(small(), "s", paused=True)
    wait_for("a paused start", lambda: (v := runner.job(job_id)) and v.status == "paused" and not v.pending)
    runner.reset(job_id, paused=True)
    view = wait_for("the reset", lambda: (v := runner.job(job_id)) and v.status == "paused" and not v.pending and v)
    with runner._lock:
        mirror = runner._jobs[job_id]
        worker = mirror.worker
        assert mirror.gen == 1
        runner._on_message(worker, Update(job_id, 0, progress(cseq=0, state="finished", step=999)))
        runner._on_message(worker, Failed(job_id, 0, "an old trainer failed"))
        runner._on_message(object(), Update(job_id, 1, progress(cseq=0, state="finished", step=999)))
        runner._on_message(worker, Update("no-such-job", 1, progress(step=999)))
        runner._on_message(worker, ("update", job_id, 1, {}))  # not a protocol type: logged, ignored
    after = runner.job(job_id)
    assert (after.version, after.step, after.status) == (view.version, 0, "paused")

    with runner._lock:  # the same Update of the current generation is taken: the checks above could fail
        runner._on_message(worker, Update(job_id, 1, progress(cseq=0, state="finished", step=999)))
    assert (runner.job(job_id).step, runner.job(job_id).status) == (999, "finished")


def test_a_worker_sent_an_unknown_command_keeps_serving(runner: JobRunner) -> None:
    with runner._lock:
        worker = runner._pool.workers[0]
    worker.send(("pause", "job1", 0, 1))  # the old tuple form: not a command any more
    job_id = runner.start(parse_group({**SMALL, "steps": "30"}), "s")
    view = wait_for("the job to finish", lambda: (v := runner.job(job_id)) and v.status == "finished" and v)
    assert view.step == 30 and view.worker_pid == worker.process.pid and worker.process.is_alive()
