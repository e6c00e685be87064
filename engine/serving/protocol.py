"""What the job runner and its worker processes say to each other: one small frozen dataclass per kind.

Two channels per worker, both pickled across `spawn` processes (so every type here is module-level):

    runner -> worker   the worker's command queue (a multiprocessing Queue), read between training turns
    worker -> runner   the worker's own Pipe (a killed worker can corrupt nobody else's), drained by the
                       runner's reader thread (engine/serving/reader.py)

Commands (runner -> worker; engine/serving/worker.py applies them in the order sent):

    Create(job, gen, cseq, group, pause_at)   host a new job (replacing one of the same id): a fresh
                                              GroupTrainer; pause_at None runs free, n pauses once work_done >= n
    Pause / Resume / Stop(job, gen, cseq)     controls; Stop ends the job where it is (its weights stay)
    Step(job, gen, cseq, n)                   advance exactly n steps from now, then pause
    Drop(job)                                 forget the job (ended, removed, reset or moved away)
    WeightsRequest(request, job, gen)         send the job's weights now, as a WeightsReply
    Quit()                                    leave at once

Messages (worker -> runner):

    Hello(index, pid)                         once, when the worker has imported everything and serves
    Update(job, gen, progress)                after every training turn and every command of the job
                                              (pre-training: phase, progress, new table rows; the first
                                              layer's weights when changed, at most ~1/s; RBM fantasies once)
    Failed(job, gen, message)                 the job raised; the worker has dropped it and carries on
    WeightsReply(request, weights, error)     the answer to a WeightsRequest: weights or a reason
    Retiring(index, rss)                      the worker hosts no job and holds more memory than it should
                                              (engine/serving/memory.py): it exits now; the runner starts a
                                              fresh worker in its place, and starts again any job it had
                                              sent that the worker never saw (no job fails, nothing is lost)

The gen/cseq rules. `gen` counts a job's resets: a reset sends Drop, then Create with gen + 1, so anything
still in flight from the old trainer carries the old gen. The worker ignores controls of another gen than
the job it hosts; the runner ignores Update and Failed of another gen, of a job it no longer has, or from
a worker that no longer hosts the job. `cseq` counts the control commands the runner has sent for the
job (Create carries the count so far; a reset starts again at 0). The runner shows a control's intent at
once (`pending`); it takes the job's state and run statuses from an Update only once `progress.cseq`
equals its own count, i.e. the worker had seen every control when it sent that Update. The other
numbers of an Update (steps, snapshots, ...) are always the worker's latest and are filed at once.

Either end meeting something that is none of its types says so in its log and goes on.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.training.history import Snapshot
from engine.training.predictions import Prediction
from engine.vocabulary.group import GroupConfig

# ---------------------------------------------------------------------------------------------- commands


@dataclass(frozen=True, slots=True)
class Create:
    job: str
    gen: int
    cseq: int
    group: GroupConfig
    pause_at: int | None  # None: run to the end; else pause once work_done >= pause_at (0: wait before any work;
    # work is pre-training's updates, then training steps: engine/training/trainer.py's work_done)


@dataclass(frozen=True, slots=True)
class Control:
    """What every control carries (sent as one of the four below, never as itself)."""

    job: str
    gen: int
    cseq: int


@dataclass(frozen=True, slots=True)
class Pause(Control):
    pass


@dataclass(frozen=True, slots=True)
class Resume(Control):
    pass


@dataclass(frozen=True, slots=True)
class Stop(Control):
    pass


@dataclass(frozen=True, slots=True)
class Step(Control):
    n: int  # at least 1


@dataclass(frozen=True, slots=True)
class Drop:
    job: str


@dataclass(frozen=True, slots=True)
class WeightsRequest:
    request: int  # the runner's id of the request, echoed in the reply
    job: str
    gen: int


@dataclass(frozen=True, slots=True)
class Quit:
    pass


Command = Create | Pause | Resume | Stop | Step | Drop | WeightsRequest | Quit

# ---------------------------------------------------------------------------------------------- messages


@dataclass(frozen=True, slots=True)
class Progress:
    """Where a hosted job stands after a turn or a command, and what it measured since the last Update."""

    cseq: int  # the job's control commands the worker had seen when it sent this
    state: str  # running, paused, finished, diverged or stopped
    step: int
    steps_per_s: float  # over the last RATE_WINDOW_S of wall time; 0 unless running
    statuses: list[str]  # per run: the trainer's status
    end_step: list[int | None]
    end_loss: list[float | None]
    snapshots: list[Snapshot]  # made since the last Update, oldest first
    sent: float  # time.time() when sent (the runner measures the latency)
    ranges: dict[str, dict[str, np.ndarray]] | None = None  # histogram bin ranges: once, with the first snapshot
    prediction: Prediction | None = None  # about once a second while running, and at every pause and end
    step_s: float = 0.0  # seconds per step of the job's last turn, its own compute only (0: no turn yet)
    phase: str = ""  # the trainer's phase: "pre-training h2: epoch 3 of 10", "training" or "done"
    pretrain_done: int = 0  # pre-training's minibatch updates made so far, of pretrain_total
    pretrain_total: int = 0  # 0: no run pre-trains
    pretrain_rows: list[tuple] | None = None  # pre-training table rows added since the last Update
    first_layer: dict[str, np.ndarray] | None = None  # run id -> [width, n_inputs]: when changed, ~1/s and at pauses
    fantasies: dict[str, np.ndarray] | None = None  # run id -> RBM samples [16, n_inputs]: once, when drawn


@dataclass(frozen=True, slots=True)
class Update:
    job: str
    gen: int
    progress: Progress


@dataclass(frozen=True, slots=True)
class Failed:
    job: str
    gen: int
    message: str  # for the page: the error, and where it was raised


@dataclass(frozen=True, slots=True)
class WeightsReply:
    request: int
    weights: dict[str, dict[str, np.ndarray]] | None  # run id -> state_dict as numpy arrays; None on error
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Hello:
    index: int  # the worker's place in the pool
    pid: int


@dataclass(frozen=True, slots=True)
class Retiring:
    index: int  # the worker's place in the pool
    rss: int  # its resident memory in bytes when it decided (after giving back what it could)


Message = Hello | Update | Failed | WeightsReply | Retiring
