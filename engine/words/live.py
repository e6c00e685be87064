"""Live word-vector training for the page: a trainer in a background thread, read as immutable views.

The Word vectors page never trains: it asks `LiveWords.get_or_start(group)` for the run of a group (shared by
every viewer of the same settings, like the net jobs, since training is deterministic) and draws the latest
`WordsView`. The thread trains in slices of about SLICE_S seconds with one torch thread and publishes a view
after each; controls (pause, resume, one step, stop) take effect between slices. At most MAX_RUNNING runs train
at once on a server (a run of the Lee corpus takes a few seconds of one core per epoch); more are refused with
a message that says so. Finished runs stay readable until MAX_KEPT newer ones push them out.
"""

from __future__ import annotations

import atexit
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import pandas as pd
import torch

from engine.words.api import probe_words
from engine.words.config import WordsGroup
from engine.words.explain import Example, first_examples
from engine.words.findings import findings
from engine.words.trainer import WordsTrainer

SLICE_S = 0.25
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


class LiveWords:
    """One group's run, trained in its own thread."""

    _registry: ClassVar[OrderedDict[str, LiveWords]] = OrderedDict()  # one per server process
    _lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, group: WordsGroup):
        self.group = group
        self.trainer = WordsTrainer(group)
        # read from the corpus order before the thread starts: it caches an epoch's windows as it trains
        self.examples = {run_id: tuple(first_examples(self.trainer, model.config.model))
                         for run_id, model in self.trainer.models.items()}
        self._control = threading.Condition()
        self._paused = False
        self._stopped = False
        self._pending_steps = 0
        self._version = 0
        self.view = self._make_view("running")
        self._thread = threading.Thread(target=self._run, name=f"words-{group.fingerprint()}", daemon=True)
        self._thread.start()

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
        """Stop every run and wait for its thread: at exit, a thread inside a torch call must not be killed."""
        with cls._lock:
            runs = list(cls._registry.values())
            cls._registry.clear()
        for live in runs:
            live.stop()
        for live in runs:
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

    def pause(self) -> None:
        with self._control:
            self._paused = True

    def resume(self) -> None:
        with self._control:
            self._paused = False
            self._control.notify_all()

    def step_once(self) -> None:
        """One training step while paused (the step-through view's "next step")."""
        with self._control:
            self._paused = True
            self._pending_steps += 1
            self._control.notify_all()

    def stop(self) -> None:
        with self._control:
            self._stopped = True
            self._control.notify_all()

    def _run(self) -> None:
        torch.set_num_threads(1)
        trainer = self.trainer
        while True:
            with self._control:
                while self._paused and not self._pending_steps and not self._stopped:
                    self._control.wait(1.0)
                if self._stopped or trainer.done:
                    break
                steps = 1 if self._paused else 0
                self._pending_steps = max(0, self._pending_steps - steps)
            started = time.perf_counter()
            if steps:
                trainer.advance(1)
            else:
                while time.perf_counter() - started < SLICE_S and not trainer.done:
                    trainer.advance(4)
            self._publish()
        self._publish(final="done" if trainer.done else "stopped")

    def _publish(self, final: str | None = None) -> None:
        with self._control:
            state = final or ("paused" if self._paused else "running")
        self.view = self._make_view(state)

    def _make_view(self, state: str) -> WordsView:
        t = self.trainer
        self._version += 1
        q = t.questions
        ids = q.ids.tolist()
        analogies = tuple((q.relations[r], *(t.vocab.words[i] for i in row)) for r, row in zip(q.relation_of, ids))
        return WordsView(
            version=self._version, state=state, step=t.step, total_steps=t.total_steps,
            scalars=t.scalars_table(), hists=t.hists_table(), words=t.vocab.words, counts=t.vocab.counts,
            vectors={run_id: m.w_in.numpy().copy() for run_id, m in t.models.items()},
            output_vectors={run_id: m.w_out.numpy().copy() for run_id, m in t.models.items()},
            probe_words=tuple(probe_words(t)), analogies=analogies,
            findings=findings(t) if state in ("done", "stopped") else [],
            noise=t.vocab.noise_distribution().numpy(), examples=self.examples)


atexit.register(LiveWords.stop_all)
