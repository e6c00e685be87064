"""A job's numbers against engine.train's for the same config, for the tests: every table, the summary and the
findings, and (where asked) every weight, bit for bit."""

from __future__ import annotations

import pandas as pd
import torch

import engine
from engine.serving.jobs import JobRunner
from engine.vocabulary.group import GroupConfig


def assert_job_trains_like_engine_train(runner: JobRunner, job_id: str, config: GroupConfig,
                                        weights: bool = True) -> engine.TrainResult:
    """The ended job's tables, summary, findings and (with `weights`) weights are engine.train(config)'s."""
    expected = engine.train(config)
    scalars, layers, hists, summary, findings = runner.tables(job_id)
    pd.testing.assert_frame_equal(scalars, expected.scalars)
    pd.testing.assert_frame_equal(layers, expected.layers)
    pd.testing.assert_frame_equal(hists, expected.hists)
    assert summary == expected.summary and findings == expected.findings
    if weights:
        held = runner.weights(job_id)
        assert set(held) == set(expected.weights)
        for run, state in expected.weights.items():
            for name, tensor in state.items():
                assert torch.equal(held[run][name], tensor), (run, name)
    return expected
