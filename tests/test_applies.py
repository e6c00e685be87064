"""The applies-when table (engine/vocabulary/applies.py) against the engine: a key changes what a run trains
exactly where the table says it applies, for every value of the key it depends on."""

from __future__ import annotations

from typing import get_args

import pytest
import torch

from engine.training.data import make_dataset
from engine.training.trainer import GroupTrainer
from engine.vocabulary.applies import APPLIES_WHEN, applies, applies_text, effective, ignored_keys
from engine.vocabulary.config import RunConfig, key_label
from engine.vocabulary.group import parse_group

SMALL = {"hidden": "4,4", "samples": "60", "batch_size": "16", "probe_every": "1"}
OTHER_VALUE = {"leak": "0.3", "init_std": "0.7", "init_gain": "2.5", "momentum": "0.5"}


def _choices(key: str) -> tuple[str, ...]:
    return get_args(RunConfig.model_fields[key].annotation)


def _changes_training(key: str, depends_on: str, value: str) -> bool:
    """Whether run b, which differs from run a only in `key`, has other weights after three steps."""
    trainer = GroupTrainer(parse_group({**SMALL, depends_on: value, f"b.{key}": OTHER_VALUE[key]}))
    trainer.advance(3)
    a, b = trainer.state_dict(0), trainer.state_dict(1)
    return any(not torch.equal(a[name], b[name]) for name in a)


@pytest.mark.parametrize("key", [key for key in APPLIES_WHEN if key in OTHER_VALUE])
def test_a_run_key_changes_training_exactly_where_it_applies(key):
    depends_on, _ = APPLIES_WHEN[key]
    for value in _choices(depends_on):
        expected = applies(key, RunConfig.model_validate({depends_on: value}))
        assert _changes_training(key, depends_on, value) == expected, (key, depends_on, value)


@pytest.mark.parametrize("key", ["samples", "noise"])
def test_a_data_key_changes_the_data_exactly_where_it_applies(key):
    other = {"samples": 300, "noise": 0.5}[key]
    for dataset in _choices("dataset"):
        first, second = (make_dataset(RunConfig(dataset=dataset, **extra)) for extra in ({}, {key: other}))
        changed = any(a.shape != b.shape or not torch.equal(a, b)  # sine's noise is on its targets
                      for a, b in ((first.x_train, second.x_train), (first.y_train, second.y_train)))
        assert changed == applies(key, RunConfig(dataset=dataset)), (key, dataset)


def test_ignored_keys_and_the_effective_config():
    config = RunConfig(activation="relu", leak=0.3, optimizer="adam", momentum=0.5, init="zeros", init_gain=3.0)
    assert ignored_keys(config) == ["leak", "init_gain", "momentum"]
    assert effective(config) == RunConfig(activation="relu", optimizer="adam", init="zeros")
    assert ignored_keys(RunConfig(activation="leaky_relu", leak=0.3)) == []  # it applies there


def test_where_a_key_applies_in_words():
    assert applies_text("leak") == "only with activation leaky_relu"
    assert applies_text("momentum") == "only with optimizer momentum or nesterov"
    assert applies_text("init_gain") == "not with init zeros"
    assert applies_text("samples") == "not with dataset digits"
    assert applies_text("lr") == "always"


def test_every_key_has_words_and_the_label_puts_the_key_beside_them():
    for key in RunConfig.model_fields:
        title = RunConfig.model_fields[key].title
        assert title and title != key and key_label(key) == f"{title} · {key}", key
    assert key_label("lr") == "Learning rate · lr"
