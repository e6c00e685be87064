"""A server's search in a process of its own (engine/search/isolated.py): the same numbers as in this process,
its state streamed back while it trains, a stop honoured within 2 s, a failure reported, not swallowed."""

from __future__ import annotations

import multiprocessing
import os
import time

import pytest

from engine.search.isolated import new_stop, run_isolated
from engine.search.jobs import SearchJobs
from engine.search.run import SearchOutcome, run_search
from engine.search.spec import parse_search
from tests.waiting import orphan_ends, wait_for

FIXED = {"dataset": "moons", "samples": "300", "hidden": "2x12", "steps": "200", "probe_every": "10",
         "early_stopping": "3"}


def test_a_search_in_its_own_process_gives_the_numbers_of_one_run_here():
    spec = parse_search(FIXED, {"lr": "log:1e-3:3", "activation": "tanh|relu"}, "grid", 4)
    here = run_search(spec)
    jobs = SearchJobs(isolated=True)
    key = jobs.start(spec)
    assert jobs.wait(key, timeout=90)
    view = jobs.view(key)
    assert view.state == "done" and view.error is None
    assert view.outcome.chosen == here.chosen and view.outcome.done
    for there, alone in zip(view.outcome.results, here.results, strict=True):
        assert (there.index, there.status, there.steps, there.best_step) == (alone.index, alone.status, alone.steps,
                                                                            alone.best_step)
        assert there.curve == alone.curve and there.val_loss == alone.val_loss
        assert there.best_state is None  # the kept nets stay in the search's process


def test_its_trials_stream_back_while_they_train_and_a_stop_ends_them_within_two_seconds():
    spec = parse_search({**FIXED, "steps": "200000", "early_stopping": "0"}, {"lr": "log:1e-3:1"}, "random", 3)
    jobs = SearchJobs(isolated=True)
    key = jobs.start(spec)
    wait_for("trial curves", lambda: all(r is not None and r.curve for r in jobs.view(key).outcome.results),
             timeout=120)  # a nice-10 process that imports torch first
    view = jobs.view(key)
    assert view.state == "running" and all(r.status == "running" for r in view.outcome.results)
    first = max(r.steps for r in view.outcome.results)
    wait_for("a later report", lambda: max(r.steps for r in jobs.view(key).outcome.results) > first, timeout=30)
    started = time.monotonic()
    jobs.stop(key)
    assert jobs.wait(key, timeout=2.0), "still running 2 s after the stop"
    assert time.monotonic() - started < 2.5
    view = jobs.view(key)
    assert view.state == "stopped" and all(r.status == "stopped" for r in view.outcome.results)


def test_a_search_that_fails_in_its_process_is_reported_with_the_reason():
    # The child reads the backend itself: an unknown one fails there, after the parent's own check passed.
    spec = parse_search(FIXED, {"lr": "log:1e-3:1"}, "random", 2)
    outcome = SearchOutcome(spec=spec, results=[None, None])
    with pytest.raises(RuntimeError, match="backend"):
        run_isolated(spec, outcome, new_stop(), backend_name="nowhere")
    assert not outcome.done


def test_the_search_process_runs_at_the_heavy_lanes_lower_priority():
    from engine.serving.cost import Limits

    spec = parse_search({**FIXED, "steps": "200000", "early_stopping": "0"}, {"lr": "log:1e-3:1"}, "random", 1)
    before = set(multiprocessing.active_children())  # an earlier search's process may still be exiting

    def started() -> list:
        return [p for p in multiprocessing.active_children() if p.name == "layerscope-search" and p not in before]

    jobs = SearchJobs(isolated=True)
    key = jobs.start(spec)
    (child,) = wait_for("the search's process", started)
    wait_for("its first report", lambda: any(jobs.view(key).outcome.results), timeout=120)
    mine = os.getpriority(os.PRIO_PROCESS, 0)
    assert os.getpriority(os.PRIO_PROCESS, child.pid) == min(19, mine + Limits().heavy_niceness)
    jobs.stop(key)
    assert jobs.wait(key, timeout=2.0)


def test_a_search_whose_server_was_killed_ends_its_process(tmp_path):
    # minutes of training: without noticing the server's end it would run on as an orphan
    orphan_ends(tmp_path, "    import multiprocessing\n"
                          "    from engine.search.jobs import SearchJobs\n"
                          "    from engine.search.spec import parse_search\n"
                          "    spec = parse_search({'dataset': 'moons', 'steps': '200000', 'early_stopping': '0'},\n"
                          "                        {'lr': 'log:1e-3:1'}, 'random', 2)\n"
                          "    SearchJobs(isolated=True).start(spec)\n"
                          "    while not multiprocessing.active_children():\n"
                          "        time.sleep(0.05)\n"
                          "    print(multiprocessing.active_children()[0].pid, flush=True)\n")


def test_an_unknown_backend_is_refused_before_a_process_starts():
    from engine.vocabulary.config import ConfigError

    before = set(multiprocessing.active_children())
    with pytest.raises(ConfigError, match="nowhere"):
        SearchJobs(isolated=True).start(parse_search(FIXED, {"lr": "log:1e-3:1"}, "random", 1), backend_name="nowhere")
    assert set(multiprocessing.active_children()) == before
