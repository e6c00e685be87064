"""Real runs for the chart tests (app/charts/): a short engine run's tables, prediction and data
(the run fixtures in tests/conftest.py train them), and checks that several chart test files share."""

from __future__ import annotations

import colorsys
from dataclasses import dataclass
from typing import Any

import pandas as pd

import engine
from app import charts
from engine.api import summarize
from engine.training.predictions import Prediction, predict
from engine.training.trainer import GroupTrainer


@dataclass
class Run:
    scalars: pd.DataFrame
    layers: pd.DataFrame
    hists: pd.DataFrame
    findings: list[dict]
    prediction: Prediction
    data: Any
    labels: dict[str, str]


def train_run(config: dict) -> Run:
    group = engine.parse_group(config)
    trainer = GroupTrainer(group)
    trainer.run()
    scalars, layers, hists, _, findings = summarize(trainer)
    return Run(scalars, layers, hists, findings, predict(trainer), trainer.data,
               dict(zip(group.ids, group.labels)))


def _hue(color: str) -> float:
    r, g, b = (int(color[i : i + 2], 16) / 255 for i in (1, 3, 5))
    return colorsys.rgb_to_hls(r, g, b)[0]


def same_hue(color: str, run_id: str) -> bool:
    difference = abs(_hue(color) - _hue(charts.run_color(run_id)))
    return min(difference, 1 - difference) < 0.03


def latest(table: pd.DataFrame, run: str, stat: str) -> pd.Series:
    rows = table[(table["run"] == run) & (table["stat"] == stat)]
    return rows[rows["step"] == rows["step"].max()].set_index("layer")["value"]


def more_layers(table: pd.DataFrame, depth: int) -> pd.DataFrame:
    """A deeper net's table made from a shallower one: hidden layers repeated and renamed h1..h{depth}."""
    hidden = [name for name in charts.depth_order(table["layer"].unique()) if name != "out"]
    parts = []
    for i in range(depth):
        part = table[table["layer"] == hidden[i % len(hidden)]].copy()
        part["layer"] = f"h{i + 1}"
        parts.append(part)
    parts.append(table[table["layer"] == "out"])
    return pd.concat(parts, ignore_index=True).sort_values("step", kind="stable").reset_index(drop=True)
