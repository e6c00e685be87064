"""Issue 13's headline through the engine at the defaults: a 5x256 sigmoid net on digits with SGD at lr 0.5 stays
near chance from random init but learns after greedy pre-training (the Gallery's lessons check seeds 0-4; here
two seeds keep the defaults honest)."""

from __future__ import annotations

import pytest

from engine.api import train

DEEP_SIGMOID = {"dataset": "digits", "hidden": "5x256", "activation": "sigmoid", "lr": "0.5", "steps": "300"}


def _val_accuracy(mapping: dict) -> float:
    scalars = train(mapping).scalars
    rows = scalars[(scalars.metric == "accuracy") & (scalars.split == "val") & (scalars.step == 300)]
    return float(rows.value.iloc[0])


@pytest.mark.parametrize("seed", ["0", "1"])
def test_pre_training_rescues_the_deep_sigmoid_net(seed):
    assert _val_accuracy({**DEEP_SIGMOID, "seed": seed}) <= 0.15
    for method in ("autoencoder", "rbm"):
        assert _val_accuracy({**DEEP_SIGMOID, "seed": seed, "pretrain": method}) >= 0.85, method
