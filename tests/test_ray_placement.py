"""Choosing where the job runner's workers run (LAYERSCOPE_BACKEND), and what happens without Ray installed:
everything trains locally and the log says how to enable Ray. No Ray is started here."""

from __future__ import annotations

import logging
import sys

import pytest

from engine.distributed import ray_session
from engine.serving import ray_workers
from engine.serving.errors import JobError
from engine.serving.jobs import JobRunner
from engine.serving.ray_workers import BACKEND_VARIABLE, placement


def test_the_default_is_local(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(BACKEND_VARIABLE, raising=False)
    assert placement() == "local"
    monkeypatch.setenv(BACKEND_VARIABLE, " Local ")
    assert placement() == "local"


def test_an_unknown_backend_is_refused_naming_the_variable_the_value_and_the_choices(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(BACKEND_VARIABLE, "dask")
    with pytest.raises(JobError, match=r"LAYERSCOPE_BACKEND='dask': unknown backend \(allowed: local, ray\)"):
        placement()
    with pytest.raises(JobError, match="'slurm'"):
        JobRunner(workers=1, backend="slurm")


def test_ray_is_chosen_when_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ray_workers, "installed", lambda: True)
    monkeypatch.setenv(BACKEND_VARIABLE, "ray")
    assert placement() == "ray"


def test_without_ray_the_runner_trains_locally_and_says_how_to_enable_ray(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` fails as if it were not installed
    assert not ray_session.installed()
    monkeypatch.setenv(BACKEND_VARIABLE, "ray")
    with caplog.at_level(logging.WARNING), JobRunner(workers=1) as runner:
        assert runner.backend == "local" and runner.stats()["backend"] == "local"
    assert "pip install -r requirements-ray.txt" in caplog.text and "local worker processes" in caplog.text
    with pytest.raises(ray_session.RayUnavailable, match=r"pip install -r requirements-ray\.txt"):
        ray_session.connect()
