"""Live word-vector training in a process of its own (engine/words/live.py): the numbers of a run trained here,
views streamed back, pause, one step and stop honoured, the process at the heavy lane's lower priority."""

from __future__ import annotations

import multiprocessing
import os
import time

import numpy as np
import pytest

from engine.serving.cost import Limits
from engine.words.config import parse_words
from engine.words.live import LiveWords
from engine.words.trainer import WordsTrainer
from tests.waiting import orphan_ends, wait_for


@pytest.fixture(autouse=True)
def _no_runs_left():
    yield
    LiveWords.stop_all()


def test_a_run_in_its_own_process_ends_with_the_vectors_of_the_same_run_trained_here():
    group = parse_words({"corpus": "planted", "b.model": "cbow"})
    live = LiveWords.get_or_start(group)
    assert live.view.state == "running" and live.view.step == 0  # drawn at once, before the process reports
    wait_for("the end of the run", lambda: live.view.state == "done", timeout=120)  # a nice-10 process
    here = WordsTrainer(group)
    while not here.done:
        here.advance(4)
    assert live.view.step == here.step == live.view.total_steps
    for run_id, model in here.models.items():
        assert np.array_equal(live.view.vectors[run_id], model.w_in.numpy()), run_id
        assert np.array_equal(live.view.output_vectors[run_id], model.w_out.numpy()), run_id


def test_pause_one_step_and_stop_reach_the_process():
    live = LiveWords.get_or_start(parse_words({"corpus": "lee"}))
    wait_for("a report from the process", lambda: live.view.version >= 1, timeout=120)
    live.pause()
    wait_for("the pause", lambda: live.view.state == "paused", timeout=20)
    paused_at = live.view.step
    time.sleep(0.6)
    assert live.view.step == paused_at  # paused means no training
    live.step_once()
    wait_for("one step", lambda: live.view.step == paused_at + 1, timeout=20)
    live.resume()
    wait_for("training again", lambda: live.view.step > paused_at + 1 and live.view.state == "running",
             timeout=20)
    live.stop()
    wait_for("the stop", lambda: live.view.state == "stopped", timeout=20)
    assert live.view.findings  # an ended run's findings come with it


def test_the_training_process_runs_at_the_heavy_lanes_lower_priority():
    live = LiveWords.get_or_start(parse_words({"corpus": "lee", "seed": "3"}))
    (child,) = [p for p in multiprocessing.active_children() if p.name.startswith("layerscope-words-")]
    wait_for("a report from the process", lambda: live.view.version >= 1, timeout=120)
    mine = os.getpriority(os.PRIO_PROCESS, 0)
    assert os.getpriority(os.PRIO_PROCESS, child.pid) == min(19, mine + Limits().heavy_niceness)



def test_a_paused_run_whose_server_was_killed_ends_its_process(tmp_path):
    # A paused run waits for commands: only noticing the server's end can end it.
    orphan_ends(tmp_path, "    from engine.words.config import parse_words\n"
                          "    from engine.words.live import LiveWords\n"
                          "    live = LiveWords.get_or_start(parse_words({'corpus': 'planted'}))\n"
                          "    live.pause()\n"
                          "    print(live._process.pid, flush=True)\n")
