"""Live word-vector training for the page: a trainer in a process of its own, read as immutable views.

The Word vectors page never trains: it asks `LiveWords.get_or_start(group)` for the run of a group (shared by
every viewer of the same settings, like the net jobs, since training is deterministic) and draws the latest
`WordsView`. Neither does the server's interpreter: the run trains in a `spawn` process (`_serve`, at the heavy
lane's lower priority, one torch thread) in slices of about SLICE_S seconds, and sends a view at most every
PUBLISH_S (and at every pause, step and end) to a thread of the server that files it; controls (pause,
resume, one step, stop) go the other way on a queue and take effect between slices. The first view is made in
the server from the same deterministic setup, so the page draws at once while the process starts. At most
MAX_RUNNING runs train at once on a server (a run of the Lee corpus takes a few seconds of one core per epoch);
more are refused with a message that says so. Finished runs stay readable until MAX_KEPT newer ones push them out.
"""

from __future__ import annotations

import atexit
import contextlib
import multiprocessing
import queue
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import torch

from engine.serving.cost import Limits, lower_priority
from engine.words.api import probe_words
from engine.words.config import WordsGroup
from engine.words.explain import Example, first_examples
from engine.words.findings import findings
from engine.words.trainer import WordsTrainer

SLICE_S = 0.25
PUBLISH_S = 0.5  # the page looks about once a second; a view holds every vector, so not after every slice
MAX_RUNNING = 3
MAX_KEPT = 12


class LiveLimitError(RuntimeError):
    pass


@dataclass(frozen=True)
class WordsView:
    """Everything the page draws for one moment of a run."""

    version: int
    state: str  # "running", "paused", "done", "stopped"
    step: int
    total_steps: int
    scalars: pd.DataFrame
    hists: pd.DataFrame
    words: tuple[str, ...]
    counts: np.ndarray
    vectors: dict[str, np.ndarray]  # run id -> [V, dim] input vectors, a copy
    output_vectors: dict[str, np.ndarray]  # run id -> [V, dim] output vectors, a copy
    probe_words: tuple[str, ...]
    analogies: tuple[tuple[str, str, str, str, str], ...]  # relation, a, b, c, d: the questions asked
    findings: list[dict] = field(default_factory=list)
    noise: np.ndarray | None = None  # P(word) of the negatives
    examples: dict[str, tuple[Example, ...]] = field(default_factory=dict)  # run id -> the first examples


def make_view(trainer: WordsTrainer, examples: dict[str, tuple[Example, ...]], version: int,
              state: str) -> WordsView:
    """What the page draws of `trainer` now."""
    t = trainer
    q = t.questions
    ids = q.ids.tolist()
    analogies = tuple((q.relations[r], *(t.vocab.words[i] for i in row)) for r, row in zip(q.relation_of, ids))
    return WordsView(
        version=version, state=state, step=t.step, total_steps=t.total_steps,
        scalars=t.scalars_table(), hists=t.hists_table(), words=t.vocab.words, counts=t.vocab.counts,
        vectors={run_id: m.w_in.numpy().copy() for run_id, m in t.models.items()},
        output_vectors={run_id: m.w_out.numpy().copy() for run_id, m in t.models.items()},
        probe_words=tuple(probe_words(t)), analogies=analogies,
        findings=findings(t) if state in ("done", "stopped") else [],
        noise=t.vocab.noise_distribution().numpy(), examples=examples)


def examples_of(trainer: WordsTrainer) -> dict[str, tuple[Example, ...]]:
    # read from the corpus order before training: the trainer caches an epoch's windows as it trains
    return {run_id: tuple(first_examples(trainer, model.config.model)) for run_id, model in trainer.models.items()}


def _serve(group: WordsGroup, views: Any, commands: Any, niceness: int) -> None:
    """The training process: slices of training between commands, a view sent as its state changes."""
    lower_priority(niceness)
    torch.set_num_threads(1)
    trainer = WordsTrainer(group)
    examples = examples_of(trainer)
    paused = stopped = False
    pending, version, sent_at, sent_state = 0, 0, 0.0, "running"

    def publish(state: str) -> None:
        nonlocal version, sent_at, sent_state
        version += 1
        views.put(make_view(trainer, examples, version, state))
        sent_at, sent_state = time.monotonic(), state

    parent = multiprocessing.parent_process()
    while True:
        if parent is not None and not parent.is_alive():  # the server is gone (killed): nobody to train for
            views.cancel_join_thread()  # views nobody will read must not hold up the exit
            return
        block = paused and not pending
        with contextlib.suppress(queue.Empty):
            while True:  # every command sent so far; while paused with nothing to do, wait for one
                command = commands.get(timeout=1.0) if block else commands.get_nowait()
                block = False
                paused = {"pause": True, "resume": False, "step": True}.get(command, paused)
                pending += command == "step"
                stopped = stopped or command == "stop"
        if stopped or trainer.done:
            break
        if paused and pending:
            trainer.advance(1)
            pending -= 1
            publish("paused")
        elif paused:
            if sent_state != "paused":
                publish("paused")
        else:
            started = time.perf_counter()
            while time.perf_counter() - started < SLICE_S and not trainer.done:
                trainer.advance(4)
            if time.monotonic() - sent_at >= PUBLISH_S or sent_state != "running":
                publish("running")
    publish("done" if trainer.done else "stopped")


class LiveWords:
    """One group's run, trained in a process of its own, its latest view in `view`."""

    _registry: ClassVar[OrderedDict[str, LiveWords]] = OrderedDict()  # one per server process
    _lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, group: WordsGroup):
        self.group = group
        trainer = WordsTrainer(group)  # the process makes the same one: its first view, drawn at once
        self.examples = examples_of(trainer)
        self.view = make_view(trainer, self.examples, 0, "running")
        ctx = multiprocessing.get_context("spawn")
        self._commands, self._views = ctx.Queue(), ctx.Queue()
        self._process = ctx.Process(target=_serve, args=(group, self._views, self._commands, Limits().heavy_niceness),
                                    name=f"layerscope-words-{group.fingerprint()[:12]}", daemon=True)
        self._process.start()
        self._thread = threading.Thread(target=self._file_views, name=f"words-{group.fingerprint()}", daemon=True)
        self._thread.start()

    def _file_views(self) -> None:
        """The server's side: the process's views, as they come, until its last one (or its end)."""
        while True:
            try:
                view = self._views.get(timeout=0.5)
            except queue.Empty:
                if not self._process.is_alive():  # ended without a last view (killed): what it showed, stopped
                    self.view = replace(self.view, version=self.view.version + 1, state="stopped")
                    return
                continue
            self.view = view
            if view.state in ("done", "stopped"):
                return

    @classmethod
    def get_or_start(cls, group: WordsGroup) -> LiveWords:
        key = group.fingerprint()
        with cls._lock:
            live = cls._registry.get(key)
            if live is not None:
                cls._registry.move_to_end(key)
                return live
            running = sum(1 for other in cls._registry.values() if other.view.state in ("running", "paused"))
            if running >= MAX_RUNNING:
                raise LiveLimitError(f"{running} word-vector runs are training on this server (at most "
                                     f"{MAX_RUNNING}); wait for one to finish, or stop yours, and press Train again")
            live = cls(group)
            cls._registry[key] = live
            while len(cls._registry) > MAX_KEPT:
                oldest = next(iter(cls._registry))
                cls._registry.pop(oldest).stop()
            return live

    @classmethod
    def stop_all(cls, timeout: float = 5.0) -> None:
        """Stop every run and wait for its process to end (ended by force after `timeout`)."""
        with cls._lock:
            runs = list(cls._registry.values())
            cls._registry.clear()
        for live in runs:
            live.stop()
        for live in runs:
            live._process.join(timeout)
            if live._process.is_alive():
                live._process.terminate()
            live._thread.join(timeout)

    @classmethod
    def forget(cls, group: WordsGroup) -> None:
        """Stop the group's run and drop it: the next start trains from scratch."""
        with cls._lock:
            live = cls._registry.pop(group.fingerprint(), None)
        if live is not None:
            live.stop()

    @classmethod
    def find(cls, group: WordsGroup) -> LiveWords | None:
        with cls._lock:
            return cls._registry.get(group.fingerprint())

    def _send(self, command: str) -> None:
        if self._process.is_alive():
            self._commands.put(command)

    def pause(self) -> None:
        self._send("pause")

    def resume(self) -> None:
        self._send("resume")

    def step_once(self) -> None:
        """One training step while paused (the step-through view's "next step")."""
        self._send("step")

    def stop(self) -> None:
        self._send("stop")


atexit.register(LiveWords.stop_all)
