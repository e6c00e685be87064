"""The worker process: hosts many small jobs (one GroupTrainer each) and gives every running job a short
time slice in turn, streaming what it measures to the job runner (engine/serving/jobs.py) as it is made.

Started with the `spawn` context, so everything here is module-level and importable. One thread, one
torch thread. Between slices it reads its command queue without blocking; with nothing to run it blocks.
What it reads and sends, and the gen/cseq rules: engine/serving/protocol.py.
"""

from __future__ import annotations

import contextlib
import math
import multiprocessing
import os
import queue
import sys
import time
import traceback
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import torch

from engine.serving.cost import lower_priority
from engine.serving.memory import rss, trim, worker_idle_limit
from engine.serving.protocol import (
    Command,
    Control,
    Create,
    Drop,
    Failed,
    Hello,
    Message,
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
from engine.training.history import History
from engine.training.predictions import predict
from engine.training.trainer import DIVERGED, GroupTrainer

SLICE_S = 0.03  # target length of one job's turn; the chunk of steps adapts to the job's speed
MAX_CHUNK = 5000
PREDICT_S = 1.0  # a running job sends a Prediction at most this often (and at every pause and at the end)
WEIGHTS_S = 1.0  # a running job sends its first layer's weights at most this often (and at every pause and end)
RATE_WINDOW_S = 0.5  # steps/s is measured over wall-clock windows of this length (turns of other jobs included)
IDLE_POLL_S = 0.5  # with nothing to run: block on the command queue this long, then check the parent is alive


@dataclass
class _Hosted:
    job: str
    gen: int
    cseq: int
    trainer: GroupTrainer
    pause_at: int | None  # None: run to the end; else paused once trainer.work_done >= pause_at
    chunk: int = 1
    ranges_sent: bool = False
    predicted_at: float = -math.inf
    predicted_step: int = -1
    rate_t: float = field(default_factory=time.perf_counter)
    rate_step: int = 0
    steps_per_s: float = 0.0
    step_s: float = 0.0  # seconds per step of the last turn (the runner refines its cost estimates with it)
    rows_sent: list[int] = field(default_factory=list)  # pre-training table rows sent, per cohort
    weights_at: float = -math.inf
    weights_mark: tuple = ()  # (step, pre-training updates) when the first layer was last sent
    fantasies_sent: int = 0  # runs whose RBM fantasies were sent (each cohort draws its own, in turn)

    @property
    def running(self) -> bool:
        return not self.trainer.done and (self.pause_at is None or self.trainer.work_done < self.pause_at)

    @property
    def state(self) -> str:
        trainer = self.trainer
        if trainer.done:
            if trainer.stopped:
                return "stopped"
            return "diverged" if all(s == DIVERGED for s in trainer.status) else "finished"
        return "running" if self.running else "paused"


class _Host:
    def __init__(self, results: Any):
        self.results = results
        self.jobs: dict[str, _Hosted] = {}
        self.order: deque[str] = deque()  # round-robin order of hosted jobs
        self.emptied = False  # it hosted jobs and hosts none now: time to see what memory it holds

    # ------------------------------------------------------------------ commands

    def handle(self, command: Command) -> bool:
        """Apply one command; False means quit."""
        match command:
            case Quit():
                return False
            case Create():
                self._create(command)
            case Drop(job=job):
                if self.jobs.pop(job, None) is not None:
                    self.order.remove(job)
                    self.emptied = not self.jobs
            case WeightsRequest():
                self._weights(command)
            case Pause() | Resume() | Stop() | Step():
                hosted = self.jobs.get(command.job)
                if hosted is None or hosted.gen != command.gen:
                    return True
                hosted.cseq = command.cseq
                try:
                    self._control(hosted, command)
                    self._update(hosted, [])
                except Exception as error:
                    self._fail(hosted, error)
            case _:  # a runner of another version, or a bug: say so, and serve on
                print(f"layerscope worker (pid {os.getpid()}): ignored an unknown command {command!r:.200}",
                      file=sys.stderr, flush=True)
        return True

    def _create(self, command: Create) -> None:
        job, gen = command.job, command.gen
        if self.jobs.pop(job, None) is not None:
            self.order.remove(job)
        try:
            trainer = GroupTrainer(command.group)
        except Exception as error:  # a config the engine cannot build: this job fails, the worker goes on
            self._send(Failed(job, gen, _describe(error)))
            return
        hosted = _Hosted(job, gen, command.cseq, trainer, command.pause_at)
        self.jobs[job] = hosted
        self.order.append(job)
        try:
            self._update(hosted, [])
        except Exception as error:
            self._fail(hosted, error)

    def _control(self, hosted: _Hosted, command: Control) -> None:
        trainer = hosted.trainer
        if trainer.done:
            return
        was_running = hosted.running
        match command:
            case Pause():
                hosted.pause_at = trainer.work_done
            case Resume():
                hosted.pause_at = None
            case Step(n=n):
                hosted.pause_at = trainer.work_done + max(1, int(n))
            case Stop():
                trainer.stop()
                hosted.trainer.history = History()  # the runner holds the history; only the weights stay here
        if hosted.running and not was_running:
            hosted.rate_t, hosted.rate_step = time.perf_counter(), trainer.step

    def _weights(self, command: WeightsRequest) -> None:
        hosted = self.jobs.get(command.job)
        if hosted is None or hosted.gen != command.gen:
            self._send(WeightsReply(command.request, None, "the job is no longer on its worker"))
            return
        trainer = hosted.trainer
        try:  # numpy crosses the pipe plainly; torch tensors would go through shared-memory handles
            weights = {run_id: {name: tensor.detach().cpu().numpy().copy()
                                for name, tensor in trainer.state_dict(k).items()}
                       for k, run_id in enumerate(trainer.ids)}
        except Exception as error:
            self._send(WeightsReply(command.request, None, _describe(error)))
            return
        self._send(WeightsReply(command.request, weights))

    # ------------------------------------------------------------------ training

    def any_running(self) -> bool:
        return any(hosted.running for hosted in self.jobs.values())

    def next_running(self) -> _Hosted | None:
        for _ in range(len(self.order)):
            job = self.order[0]
            self.order.rotate(-1)
            hosted = self.jobs[job]
            if hosted.running:
                return hosted
        return None

    def run_slice(self, hosted: _Hosted) -> None:
        trainer = hosted.trainer
        n = hosted.chunk if hosted.pause_at is None else min(hosted.chunk, hosted.pause_at - trainer.work_done)
        try:
            start = time.perf_counter()
            snapshots = trainer.advance(n)
            elapsed = time.perf_counter() - start
            hosted.step_s = elapsed / max(1, n)
            if n == hosted.chunk and not trainer.done:  # a full turn: aim the next one at SLICE_S
                ideal = n * SLICE_S / max(elapsed, 1e-6)
                hosted.chunk = int(max(1, min(MAX_CHUNK, ideal, hosted.chunk * 4)))
            if trainer.done:
                trainer.history = History()  # the runner holds the history; only the weights stay here
            self._update(hosted, snapshots)
        except Exception as error:  # a bug or a runaway allocation in one job: it fails, the others go on
            self._fail(hosted, error)

    def _fail(self, hosted: _Hosted, error: BaseException) -> None:
        if self.jobs.pop(hosted.job, None) is not None:
            self.order.remove(hosted.job)
            self.emptied = not self.jobs
        self._send(Failed(hosted.job, hosted.gen, _describe(error)))

    def _update(self, hosted: _Hosted, snapshots: list) -> None:
        trainer = hosted.trainer
        now = time.perf_counter()
        state = hosted.state
        if state != "running":
            hosted.steps_per_s = 0.0
        elif now - hosted.rate_t >= RATE_WINDOW_S:
            hosted.steps_per_s = (trainer.step - hosted.rate_step) / (now - hosted.rate_t)
            hosted.rate_t, hosted.rate_step = now, trainer.step
        ranges = None
        if not hosted.ranges_sent and snapshots:
            ranges = trainer.hist_ranges()  # fixed from the first probe step on
            hosted.ranges_sent = True
        prediction = None
        due = now - hosted.predicted_at >= PREDICT_S if state == "running" else trainer.step != hosted.predicted_step
        if due:
            prediction = predict(trainer)
            hosted.predicted_at, hosted.predicted_step = now, trainer.step
        progress = Progress(
            cseq=hosted.cseq, state=state, step=trainer.step, steps_per_s=hosted.steps_per_s,
            statuses=list(trainer.status), end_step=list(trainer.end_step), end_loss=list(trainer.end_loss),
            snapshots=snapshots, sent=time.time(), ranges=ranges, prediction=prediction, step_s=hosted.step_s,
            **_pretraining_news(hosted, state, now),
        )
        self._send(Update(hosted.job, hosted.gen, progress))

    def _send(self, message: Message) -> None:
        self.results.send(message)

    # ------------------------------------------------------------------ memory

    def retiring_size(self, limit: int) -> int:
        """Once it has just let go of its last job: hand free heap back, and if it still holds more than
        `limit` bytes, its size (it should retire); else 0. Paused and ended jobs are jobs: it stays."""
        if not self.emptied or self.jobs:
            return 0
        self.emptied = False
        trim()
        size = rss()
        return size if limit and size > limit else 0


def _pretraining_news(hosted: _Hosted, state: str, now: float) -> dict[str, Any]:
    """The Progress fields about pre-training and the first layer: the phase and its progress always; table
    rows, weights and fantasies only when there is something new (weights at most every WEIGHTS_S while
    running: a [width, n_inputs] array per run, small, but not worth sending every 30 ms turn)."""
    trainer = hosted.trainer
    pretraining = trainer.pretraining
    news: dict[str, Any] = {"phase": trainer.phase, "pretrain_done": pretraining.updates_done,
                            "pretrain_total": pretraining.total_updates}
    counts = [len(cohort.rows) for cohort in pretraining.cohorts]
    if counts != hosted.rows_sent:
        sent = hosted.rows_sent or [0] * len(counts)
        news["pretrain_rows"] = pretraining.rows_since(sent)
        hosted.rows_sent = counts
    mark = (trainer.step, pretraining.updates_done)
    due = now - hosted.weights_at >= WEIGHTS_S or state != "running"
    if mark != hosted.weights_mark and due:
        news["first_layer"] = trainer.first_layer_weights()
        hosted.weights_at, hosted.weights_mark = now, mark
    fantasies = pretraining.fantasies() if pretraining.cohorts else {}
    if len(fantasies) != hosted.fantasies_sent:
        news["fantasies"] = {run: samples.numpy().copy() for run, samples in fantasies.items()}
        hosted.fantasies_sent = len(fantasies)
    return news


def _describe(error: BaseException) -> str:
    where = traceback.extract_tb(error.__traceback__)[-1:] if error.__traceback__ else []
    place = f" (at {os.path.basename(where[0].filename)}:{where[0].lineno})" if where else ""
    return f"Training failed: {type(error).__name__}: {error}{place}"


def _commands(commands: Any, block: bool) -> list[Command]:
    """Every command waiting now; with `block`, wait up to IDLE_POLL_S for the first one."""
    out = []
    try:
        out.append(commands.get(timeout=IDLE_POLL_S) if block else commands.get_nowait())
        while True:
            out.append(commands.get_nowait())
    except queue.Empty:
        pass
    return out


def main(index: int, commands: Any, results: Any, niceness: int = 0) -> None:
    """The target of a spawned worker Process: serve, then leave at once (an interpreter's orderly
    teardown of torch and pandas takes most of a second and keeps nothing worth keeping)."""
    code = 0
    lower_priority(niceness)
    try:
        serve(index, commands, results)
    except BaseException:
        traceback.print_exc()
        code = 1
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(code)


def serve(index: int, commands: Any, results: Any) -> None:
    """The worker's loop: commands between turns, one running job's turn at a time, until Quit."""
    torch.set_num_threads(1)  # small nets: more threads only add contention between worker processes
    # Denormals are left as they are: flushing them would make a job's numbers differ from engine.train's.
    host = _Host(results)
    parent = multiprocessing.parent_process()
    limit = worker_idle_limit(rss())  # 0: never retire
    try:
        host._send(Hello(index, os.getpid()))
        while True:
            block = not host.any_running()
            for command in _commands(commands, block):
                if not host.handle(command):
                    return
            if block and parent is not None and not parent.is_alive():
                return  # the server is gone
            if block and (size := host.retiring_size(limit)):
                waiting = _commands(commands, block=False)  # what came meanwhile (a new job: it stays)
                if not waiting:
                    host._send(Retiring(index, size))  # a fresh worker takes its place, without the high-water mark
                    return
                if not all(host.handle(command) for command in waiting):
                    return
                host.emptied = not host.jobs  # still nothing to host: look again next time round
            hosted = host.next_running()
            if hosted is not None:
                host.run_slice(hosted)
    except (BrokenPipeError, EOFError, KeyboardInterrupt):
        return  # the runner went away; nothing left to report to
