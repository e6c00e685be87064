"""The Guide's worked example: three small nets trained together, one healthy and two sick, so every chart
of the app can be shown as it looks when training goes well and when it does not.

The three runs share everything but activation and init: eight hidden layers of 32 units, the circles,
500 steps of SGD at lr 0.03 on the same batches. `vanishing` (sigmoid, standard init) starves its lower
layers of gradient and never leaves chance; `saturated` (tanh, weights drawn from N(0, 1), far too large)
pushes most units onto the flat tails of tanh; `healthy` (tanh, xavier_uniform) keeps the signal's size
through depth and learns the circles. tests/test_guide.py checks the Guide's sentences about
them at seeds 0, 1 and 2.

The three runs train as one batched stack: about 1 s of one core, 1.3 s with the Guide's figures; the Guide
caches both per server (app/guide_example.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from engine.api import one_thread, summarize
from engine.training.predictions import Prediction, predict
from engine.training.trainer import GroupTrainer
from engine.vocabulary.group import GroupConfig, parse_group

VANISHING, HEALTHY, SATURATED = "a", "b", "c"  # the runs' ids: their colours are the app's colours of a, b, c
EXAMPLE = {  # in the links' vocabulary, so "open this example" is an ordinary link
    "dataset": "circles", "hidden": "8x32", "steps": 500, "lr": 0.03,
    "activation": "sigmoid", "init": "standard", "label": "vanishing",
    "b.activation": "tanh", "b.init": "xavier_uniform", "b.label": "healthy",
    "c.activation": "tanh", "c.init": "normal", "c.init_std": 1.0, "c.label": "saturated",
}


@dataclass(frozen=True)
class WorkedExample:
    group: GroupConfig
    scalars: pd.DataFrame
    layers: pd.DataFrame
    hists: pd.DataFrame
    findings: list[dict[str, Any]]
    prediction: Prediction
    points: dict[str, np.ndarray]  # raw_train, y_train, raw_val, y_val: the data under a prediction


def example_group(seed: int = 0) -> GroupConfig:
    return parse_group({**EXAMPLE, "seed": seed})


def train_example(seed: int = 0) -> WorkedExample:
    """Train the three runs to the end (deterministic on CPU: the same numbers every time)."""
    group = example_group(seed)
    with one_thread():
        trainer = GroupTrainer(group)
        trainer.run()
        prediction = predict(trainer)
    scalars, layers, hists, _, findings = summarize(trainer)
    data = trainer.data
    points = {"raw_train": np.asarray(data.raw_train), "y_train": data.y_train.numpy(),
              "raw_val": np.asarray(data.raw_val), "y_val": data.y_val.numpy()}
    return WorkedExample(group, scalars, layers, hists, findings, prediction, points)
