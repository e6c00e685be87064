"""Pre-training, live: a job's view reports the phase and its progress, the pre-training table as it grows
(engine.train's numbers at the end), the first layer's weights of every run, and an RBM's fantasies."""

from __future__ import annotations

import time
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest

import engine
from engine.serving.jobs import JobRunner, JobView
from engine.training.data import make_dataset
from engine.vocabulary.group import parse_group
from tests.waiting import wait_for

DIGITS = {"dataset": "digits", "hidden": "2x32", "activation": "sigmoid", "batch_size": "32", "steps": "30",
          "probe_every": "5", "pretrain_epochs": "8"}


@pytest.fixture(scope="module")
def runner() -> Iterator[JobRunner]:
    with JobRunner(workers=2, grace_s=60.0, publish_s=0.02) as shared:
        yield shared


def _watch(runner: JobRunner, job_id: str, timeout: float = 90.0) -> list[JobView]:
    """Every distinct view of the job until it has finished."""
    seen: list[JobView] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = runner.job(job_id)
        assert job is not None
        if not seen or job is not seen[-1]:
            seen.append(job)
        if job.status == "finished" and not job.pending:
            return seen
        time.sleep(0.005)
    raise AssertionError(f"timed out after {timeout:g} s waiting for job {job_id} to finish")


def test_an_rbm_job_reports_its_phase_progress_table_filters_and_fantasies(runner: JobRunner) -> None:
    config = parse_group({**DIGITS, "pretrain": "rbm"})
    views = _watch(runner, runner.start(config, "rbm"))
    during = [v for v in views if v.pretraining]
    assert during, "no view was published while the job pre-trained"
    assert all(v.phase.startswith("pre-training h") and " of 8" in v.phase for v in during)
    progress = [v.pretrain_progress for v in views if v.pretrain_progress != (0, 0)]
    assert [done for done, _ in progress] == sorted(done for done, _ in progress)  # never falls back
    total = progress[-1][1]
    assert total == 2 * 8 * (len(make_dataset(config.base).x_train) // 32)
    assert len({done for done, _ in progress if 0 < done < total}) >= 2  # it rose while we watched
    assert views[-1].pretrain_progress == (total, total) and views[-1].phase == "done"
    assert any(v.phase == "training" for v in views) or views[-1].step == 30

    sizes = [len(v.pretrain) for v in views]
    assert sizes == sorted(sizes) and len(set(sizes)) >= 3  # the table grew epoch by epoch
    expected = engine.train(config)
    pd.testing.assert_frame_equal(views[-1].pretrain, expected.pretrain)

    final = views[-1]
    assert set(final.first_layer_weights) == {"a"}
    np.testing.assert_array_equal(final.first_layer_weights["a"], expected.weights["a"]["h1.weight"].numpy())
    assert set(final.fantasies) == {"a"} and final.fantasies["a"].shape == (16, 64)
    assert not any(v.fantasies for v in views if v.pretrain_progress[0] == 0)


def test_a_digits_job_without_pre_training_streams_its_first_layer_and_no_fantasies(runner: JobRunner) -> None:
    config = parse_group({**DIGITS, "steps": "200", "b.activation": "relu", "b.init": "he_normal"})
    job_id = runner.start(config, "plain")
    first = wait_for("the first layer's weights", lambda: (v := runner.job(job_id)).first_layer_weights and v)
    assert first.first_layer_weights["a"].shape == (32, 64) and first.first_layer_weights["b"].shape == (32, 64)
    views = _watch(runner, job_id)
    final = views[-1]
    assert final.pretrain.empty and final.pretrain_progress == (0, 0) and not final.fantasies
    assert not any(v.pretraining for v in views) and final.phase == "done"
    expected = engine.train(config)
    for run in ("a", "b"):
        np.testing.assert_array_equal(final.first_layer_weights[run], expected.weights[run]["h1.weight"].numpy())
    assert not np.array_equal(first.first_layer_weights["a"], final.first_layer_weights["a"])  # it moved, live


def test_step_during_pre_training_counts_its_updates_not_the_whole_phase(runner: JobRunner) -> None:
    """Step n while pre-training advances n of its minibatch updates and pauses again, still pre-training;
    after the last update, Step n is n training steps."""
    config = parse_group({**DIGITS, "pretrain": "autoencoder", "pretrain_epochs": "2"})
    job_id = runner.start(config, "stepper", paused=True)

    def paused_at(done: int, step: int = 0):
        return lambda: ((v := runner.job(job_id)).status == "paused" and not v.pending
                        and v.pretrain_progress[0] == done and v.step == step and v)

    wait_for("a paused start", paused_at(0))
    runner.step(job_id, 7)
    job = wait_for("7 pre-training updates, then a pause", paused_at(7))
    assert job.pretraining and job.step == 0
    total = job.pretrain_progress[1]
    runner.step(job_id, total - 7)
    wait_for("the rest of pre-training, then a pause before step 0's update", paused_at(total))
    runner.step(job_id, 3)
    job = wait_for("3 training steps", paused_at(total, step=3))
    assert not job.pretraining
    runner.stop(job_id)


def _train_on_playground(epochs: str):  # -> (AppTest, job id)
    """The Playground opened on an rbm digits link with `epochs` per layer, Train pressed."""
    from streamlit.testing.v1 import AppTest

    from app.pages import PLAYGROUND
    from tests.test_app import MAIN

    app = AppTest.from_file(MAIN, default_timeout=60)
    for key, value in {**DIGITS, "pretrain": "rbm", "pretrain_epochs": epochs}.items():
        app.query_params[key] = value
    app.run()
    app.button(key=f"{PLAYGROUND.prefix}train").click().run()
    return app, app.session_state[f"{PLAYGROUND.prefix}job_id"]


def test_the_playground_says_it_pre_trains_then_keeps_the_section_and_offers_pretrain_csv() -> None:
    from app import charts
    from app.help_texts import HOW_TO_READ
    from app.plain_text import shown
    from app.runtime import get_runner

    app, job_id = _train_on_playground("100")
    runner = get_runner()
    try:
        wait_for("pre-training under way", lambda: (v := runner.job(job_id)).pretraining and v.pretrain_progress[0],
                 timeout=60)
        app.run()  # a fragment's timer never fires in AppTest: rerun the page
        assert not app.exception
        bars = [str(p.proto) for p in app.get("progress")]
        assert any("pre-training h1: epoch" in bar and "of 100" in bar and "updates" in bar for bar in bars), bars
        headings = [h.value for h in app.subheader]
        assert "Pre-training, layer by layer" in headings and "The first layer's weights" in headings
        assert headings.index("Pre-training, layer by layer") < headings.index("Loss and accuracy")  # shown first
        assert HOW_TO_READ["filters"] in [c.value for c in app.caption]
        assert any(shown(m.value).startswith("h1's weights, one 8x8 image per unit") for m in app.markdown)
    finally:
        runner.stop(job_id)

    app, job_id = _train_on_playground("2")
    wait_for("the run to end", lambda: runner.job(job_id).status == "finished", timeout=90)
    app.run()
    assert not app.exception
    headings = [h.value for h in app.subheader]
    assert headings.index("Pre-training, layer by layer") > headings.index("Loss and accuracy")  # below, after
    assert "Digits the RBM dreams up" in headings
    view = runner.job(job_id)  # the words above the pre-training chart: the table's, as text the browser wraps
    words = charts.pretraining_words(view.pretrain, labels=dict(zip(view.ids, view.labels)), runs=view.ids)
    assert len(words) == 1 and words[0].startswith("a: h1's reconstruction error")
    assert words in [shown(m.value).split("  \n") for m in app.markdown]
    assert "pretrain.csv" in [b.proto.label for b in app.get("download_button")]
