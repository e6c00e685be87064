"""Memory given back: a worker that lets go of its last job above its memory limit retires and is replaced
without a failed job or an error; a job sent to it as it left starts on its successor; the server's heap
can be trimmed. (The server's memory over hundreds of sessions: bench/soak.py.)"""

from __future__ import annotations

import logging
import time

import pytest

from engine.serving.jobs import JobRunner
from engine.serving.memory import IDLE_RSS_ENV, megabytes, rss, trim, worker_idle_limit
from engine.serving.protocol import Create, Drop, Retiring
from engine.serving.worker import _Host
from engine.vocabulary.group import parse_group
from tests.waiting import wait_for

SMALL = {"hidden": "4", "samples": "100", "steps": "30", "probe_every": "5"}
HEAVY = {"hidden": "2x1024", "batch_size": "4096", "samples": "8000", "steps": "2", "probe_every": "1"}
WAIT_S = 60.0


class Pipe:
    def __init__(self) -> None:
        self.sent: list = []

    def send(self, message: object) -> None:
        self.sent.append(message)




def test_the_limit_defaults_to_400_mb_or_more_and_the_environment_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(IDLE_RSS_ENV, raising=False)
    assert worker_idle_limit(100 * 2**20) == 400 * 2**20
    assert worker_idle_limit(400 * 2**20) == 500 * 2**20  # never just above a big install's own size
    monkeypatch.setenv(IDLE_RSS_ENV, "250")
    assert worker_idle_limit(400 * 2**20) == 250 * 2**20
    monkeypatch.setenv(IDLE_RSS_ENV, "0")
    assert worker_idle_limit(400 * 2**20) == 0  # off
    assert rss() > 0 and trim() in (True, False)


def test_a_host_retires_only_once_it_has_let_go_of_its_last_job() -> None:
    host = _Host(Pipe())
    assert host.retiring_size(1) == 0  # fresh: it never retires before it has hosted anything
    host.handle(Create("job1", 0, 0, parse_group(SMALL), 0))
    host.handle(Create("job2", 0, 0, parse_group(SMALL), 0))
    host.handle(Drop("job1"))
    assert host.retiring_size(1) == 0  # a paused job is still hosted: it stays
    host.handle(Drop("job2"))
    assert host.retiring_size(0) == 0  # 0: never
    host.handle(Create("job3", 0, 0, parse_group(SMALL), 0))
    host.handle(Drop("job3"))
    assert host.retiring_size(2**50) == 0  # under the limit
    host.handle(Create("job4", 0, 0, parse_group(SMALL), 0))
    host.handle(Drop("job4"))
    assert host.retiring_size(1) > 0  # over the limit: its size, to retire with
    assert host.retiring_size(1) == 0  # measured once each time it empties


def test_an_idle_worker_above_its_limit_retires_and_a_fresh_one_serves_on(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv(IDLE_RSS_ENV, "1")  # any job leaves more than 1 MB behind: retire after every one
    caplog.set_level(logging.INFO, logger="engine.serving")
    # heavy_step_s raised: on one worker the heavy lane does not exist, and this test wants a big job there
    with JobRunner(workers=1, grace_s=0.0, publish_s=0.02, heavy_step_s=10.0) as runner:
        wait_for("the worker to start", lambda: runner._pool.workers[0].ready, timeout=WAIT_S)
        first = runner.stats()["worker_pids"][0]
        fresh = rss(first)
        heavy = runner.start(parse_group(HEAVY), "heavy")  # a wide net with a big batch: most of a GB
        peak = 0
        while (view := runner.job(heavy)).status not in ("finished", "failed"):
            peak = max(peak, rss(first))
            time.sleep(0.01)
        assert view.status == "finished", view.message
        runner.release_session("heavy")  # no grace: the job is removed, the worker told to drop it
        wait_for("a fresh worker", lambda: runner.stats()["worker_pids"][0] != first
                 and runner._pool.workers[0].ready, timeout=WAIT_S)
        second = runner.stats()["worker_pids"][0]
        assert runner.job(heavy) is None
        assert rss(second) < max(peak, fresh) and rss(second) < 1.3 * fresh, (
            f"fresh {megabytes(fresh)} MB, peak {megabytes(peak)} MB, successor {megabytes(rss(second))} MB")

        small = runner.start(parse_group(SMALL), "next")  # the runner keeps serving
        done = wait_for("the next job", lambda: (v := runner.job(small)) and v.done and v, timeout=WAIT_S)
        assert done.status == "finished" and done.worker_pid == second
        assert runner.stats()["statuses"]["failed"] == 0
    assert "retires to give back" in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.text


def test_a_job_sent_to_a_retiring_worker_starts_on_its_successor() -> None:
    with JobRunner(workers=1, publish_s=0.02) as runner:
        wait_for("the worker to start", lambda: runner._pool.workers[0].ready, timeout=WAIT_S)
        job_id = runner.start(parse_group({**SMALL, "steps": "200000"}), "s")
        with runner._lock:  # as if the worker had said it retires before it read the job's Create
            worker = runner._pool.workers[0]
            runner._on_message(worker, Retiring(0, 2**30))
            mirror = runner._jobs[job_id]
            assert mirror.worker is not worker and mirror.gen == 1 and mirror.status == "running"
        worker.process.kill()  # the real one never read the Retiring: it would have exited by now
        view = wait_for("the job on the new worker", lambda: (v := runner.job(job_id)) and v.step > 0 and v,
                        timeout=WAIT_S)
        assert view.status == "running" and view.worker_pid == runner._pool.workers[0].process.pid
        assert view.worker_pid != worker.process.pid
        assert runner.stats()["statuses"]["failed"] == 0
