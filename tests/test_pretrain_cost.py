"""The job runner's cost estimate counts pre-training, so its per-step limits also bound pre-training's work."""

from __future__ import annotations

import pytest

from engine.serving.cost import Limits, admit, estimate
from engine.serving.errors import JobLimitError
from engine.vocabulary.group import parse_group

DEEP = {"dataset": "digits", "hidden": "5x256", "activation": "sigmoid", "steps": "300"}


def test_pre_training_adds_to_the_estimate_and_more_epochs_add_more():
    none = estimate(parse_group(DEEP)).step_s
    autoencoder = estimate(parse_group({**DEEP, "pretrain": "autoencoder"})).step_s
    longer = estimate(parse_group({**DEEP, "pretrain": "autoencoder", "pretrain_epochs": "40"})).step_s
    rbm_k10 = estimate(parse_group({**DEEP, "pretrain": "rbm", "cd_k": "10"})).step_s
    rbm_k1 = estimate(parse_group({**DEEP, "pretrain": "rbm"})).step_s
    assert none < autoencoder < longer and rbm_k1 < rbm_k10
    assert estimate(parse_group({**DEEP, "pretrain_epochs": "40"})).step_s == none  # no pretrain: no cost


def test_heavy_pre_training_of_a_short_run_is_refused():
    huge = {"dataset": "digits", "hidden": "4x1024", "pretrain": "rbm", "cd_k": "25", "pretrain_epochs": "100",
            "steps": "1", "b.seed": "1", "c.seed": "2", "d.seed": "3"}
    with pytest.raises(JobLimitError, match="per step"):
        admit(estimate(parse_group(huge)), Limits(), heavy_lane=1)
    admit(estimate(parse_group({**huge, "pretrain": "none"})), Limits(), heavy_lane=1)  # the same net alone is fine
