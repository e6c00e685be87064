"""`engine.train`: the one call that trains a group to the end and returns its tables and findings."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from engine.training.findings import diagnose
from engine.training.history import Snapshot
from engine.training.tables import hists_table, layers_table, scalars_table
from engine.training.trainer import GroupTrainer
from engine.training.verdict import verdict
from engine.vocabulary.config import RunConfig
from engine.vocabulary.group import GroupConfig, config_yaml, parse_group


@dataclass
class TrainResult:
    config: GroupConfig
    scalars: pd.DataFrame
    layers: pd.DataFrame
    hists: pd.DataFrame
    summary: dict[str, Any]
    findings: list[dict[str, Any]]
    weights: dict[str, dict[str, torch.Tensor]] = field(repr=False)

    def write(self, out_dir: str | Path) -> list[Path]:
        """config.yaml, scalars.csv, layers.csv, hists.csv, summary.json and weights.pt."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        files = {
            "config.yaml": lambda p: p.write_text(config_yaml(self.config)),
            "scalars.csv": lambda p: self.scalars.to_csv(p, index=False),
            "layers.csv": lambda p: self.layers.to_csv(p, index=False),
            "hists.csv": lambda p: self.hists.to_csv(p, index=False),
            "summary.json": lambda p: p.write_text(json.dumps(self.summary, indent=2, default=_json_default)),
            "weights.pt": lambda p: torch.save(self.weights, p),
        }
        written = []
        for name, save in files.items():
            save(out / name)
            written.append(out / name)
        return written


def _json_default(value: Any) -> Any:
    return None if isinstance(value, float) and not math.isfinite(value) else str(value)


def as_group(config: GroupConfig | RunConfig | Mapping[str, Any]) -> GroupConfig:
    if isinstance(config, GroupConfig):
        return config
    if isinstance(config, RunConfig):
        return GroupConfig.single(config)
    return parse_group(config)


@dataclass(frozen=True)
class TrainingState:
    """What the tables, summary and findings of a group are made from: a trainer's state at one step. Built
    from a trainer (`of`), or from the job runner's view of a job that trains in a worker process
    (engine/serving/: the same numbers, but no trainer)."""

    group: GroupConfig
    snapshots: Sequence[Snapshot]  # oldest first
    hist_ranges: dict[str, dict[str, Any]]  # run id -> kind -> [hidden layers, 2] bin ranges
    statuses: Sequence[str]  # per run
    end_step: Sequence[int | None]  # per run: the step it ended at
    end_loss: Sequence[float | None]
    chance_loss: float
    step: int  # steps trained

    @classmethod
    def of(cls, trainer: GroupTrainer) -> TrainingState:
        return cls(group=trainer.group, snapshots=trainer.history.snapshots(), hist_ranges=trainer.hist_ranges(),
                   statuses=trainer.status, end_step=trainer.end_step, end_loss=trainer.end_loss,
                   chance_loss=trainer.data.chance_loss(), step=trainer.step)


# (scalars, layers, hists, summary, findings)
Summary = tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, dict[str, Any], list[dict]]


def summarize(trainer: GroupTrainer) -> Summary:
    """Tables, summary and findings of a trainer at any point (finished or still running)."""
    return summarize_state(TrainingState.of(trainer))


def summarize_state(state: TrainingState) -> Summary:
    """(scalars, layers, hists, summary, findings) of a training state."""
    group, statuses, end_step, step = state.group, state.statuses, state.end_step, state.step
    snapshots = state.snapshots
    scalars = scalars_table(snapshots)
    layers = layers_table(snapshots)
    hists = hists_table(snapshots, state.hist_ranges)
    findings = diagnose(group, scalars, layers, list(statuses), list(end_step), list(state.end_loss),
                        state.chance_loss, step)
    runs = []
    for k, run_id in enumerate(group.ids):
        final = {}
        latest = scalars[scalars["run"] == run_id]
        if not latest.empty:
            last_step = latest["step"].max()
            for row in latest[latest["step"] == last_step].itertuples():
                final[f"{row.split}_{row.metric}"] = row.value
        runs.append({
            "run": run_id, "label": group.labels[k], "status": statuses[k],
            "steps": end_step[k] if end_step[k] is not None else step,
            "final": final,
            "verdict": verdict(latest, [f for f in findings if f.run == run_id], statuses[k], end_step[k],
                               state.end_loss[k], state.chance_loss),  # None while the run trains
        })
    statuses_seen = {r["status"] for r in runs}
    summary = {
        "status": statuses_seen.pop() if len(statuses_seen) == 1 else "finished",
        "steps": step,
        "runs": runs,
        "findings": [f.to_dict() for f in findings],
    }
    return scalars, layers, hists, summary, summary["findings"]


@contextmanager
def one_thread() -> Iterator[None]:
    """Torch on one thread inside: small nets only lose to more threads' contention (many times slower
    under load)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def train(config: GroupConfig | RunConfig | Mapping[str, Any], steps: int | None = None,
          progress: Callable[[int, int], None] | None = None) -> TrainResult:
    """Train to the end. `steps` overrides the config's; `progress(step, total)` is called as it goes."""
    group = as_group(config)
    if steps is not None:
        group = group.with_steps(steps)
    with one_thread():
        trainer = GroupTrainer(group)
        chunk = max(1, min(200, trainer.steps // 100 or 1))
        while not trainer.done:
            trainer.advance(chunk)
            if progress is not None:
                progress(trainer.step, trainer.steps)
    scalars, layers, hists, summary, findings = summarize(trainer)
    weights = {run_id: trainer.state_dict(k) for k, run_id in enumerate(trainer.ids)}
    return TrainResult(group, scalars, layers, hists, summary, findings, weights)
