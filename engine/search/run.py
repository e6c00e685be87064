"""Run a search: its batches on a backend, each trial's result as it arrives, the chosen trial, its test score.

Selection reads validation only: the chosen trial has the best validation accuracy at its early-stopping point
(the lower validation loss breaks a tie; regression: the lowest validation loss). The test split, when the
search's `test_fraction` asks for one, is scored once, afterwards, on the chosen trial's net, and on no other.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

from engine.search.backend import Backend, LocalBackend, get_backend
from engine.search.spec import SearchSpec, batches
from engine.search.trials import Live, TrialResult, score, train_batch
from engine.training.data import make_dataset


@dataclass
class TestScore:
    loss: float
    accuracy: float
    points: int


@dataclass
class SearchOutcome:
    spec: SearchSpec
    results: list[TrialResult | None]  # by trial index; None for a trial not yet started
    chosen: int | None = None
    test: TestScore | None = None
    stopped: bool = False
    seconds: float = 0.0
    done: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def finished(self) -> list[TrialResult]:
        """Trials that have ended (finished, early-stopped, diverged or stopped)."""
        return [r for r in self.results if r is not None and r.status != "running"]


def choose(results: list[TrialResult | None], regression: bool) -> int | None:
    """The index of the trial with the best validation score; never reads anything but validation."""
    scored = [r for r in results if r is not None and r.best_step is not None and math.isfinite(r.val_loss)]
    if not scored:
        return None
    if regression:
        return min(scored, key=lambda r: (r.val_loss, r.index)).index
    return min(scored, key=lambda r: (-r.val_accuracy, r.val_loss, r.index)).index


def run_search(spec: SearchSpec, backend: Backend | None = None,
               on_update: Callable[[SearchOutcome], None] | None = None,
               should_stop: Callable[[], bool] = lambda: False,
               outcome: SearchOutcome | None = None) -> SearchOutcome:
    """Train every trial (on `backend`, default from LAYERSCOPE_BACKEND), choose one, score it on the test
    split if there is one. `on_update(outcome)` follows each change; `should_stop` is polled."""
    backend = backend if backend is not None else get_backend(None)
    configs = spec.trial_configs()
    plan = batches(configs)
    if outcome is None:
        outcome = SearchOutcome(spec=spec, results=[None] * len(configs))
    started = time.perf_counter()

    def file(results: list[TrialResult]) -> None:
        with outcome.lock:
            for result in results:
                outcome.results[result.index] = result
            outcome.seconds = time.perf_counter() - started
        if on_update is not None:
            on_update(outcome)

    # In this process a batch can poll the stop and stream its curves; another process gets the plain task.
    task = partial(train_batch, live=Live(should_stop, file)) if isinstance(backend, LocalBackend) else train_batch
    backend.map(task, plan, lambda _, results: file(results), should_stop)
    regression = spec.base.is_regression
    with outcome.lock:
        outcome.stopped = should_stop() or any(r is None or r.status == "stopped" for r in outcome.results)
        outcome.chosen = choose(outcome.results, regression)
        if outcome.chosen is not None and spec.base.test_fraction > 0:
            outcome.test = score_test(outcome.results[outcome.chosen])
        outcome.seconds = time.perf_counter() - started
        outcome.done = True
    if on_update is not None:
        on_update(outcome)
    return outcome


def score_test(result: TrialResult) -> TestScore:
    """The chosen trial's net at its early-stopping point, on the test split: the one time the test is read."""
    data = make_dataset(result.config)
    loss, accuracy = score(result.config, result.best_state, data.x_test, data.y_test)
    return TestScore(loss=loss, accuracy=accuracy, points=len(data.y_test))
