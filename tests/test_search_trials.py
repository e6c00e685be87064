"""Batched trials: the same numbers as each trial trained alone; early stopping; selection reads validation only;
the test split is scored once, for the chosen trial; a stop ends every trial."""

from __future__ import annotations

import time

import numpy as np
import pytest

from engine.api import train
from engine.distributed.ray_session import INSTALL_HINT, RayUnavailable
from engine.search import backend
from engine.search.backend import LocalBackend, get_backend
from engine.search.run import choose, run_search
from engine.search.spec import parse_search
from engine.search.trials import TrialResult, score, train_batch
from engine.training.data import make_dataset
from engine.vocabulary.config import ConfigError, RunConfig
from engine.vocabulary.group import GroupConfig

FIXED = {"dataset": "moons", "samples": "300", "hidden": "2x12", "steps": "200", "probe_every": "10",
         "early_stopping": "3", "seed": "5"}
SPACE = {"lr": "log:1e-3:3", "weight_decay": "log:1e-5:1e-2", "activation": "tanh|relu"}


@pytest.fixture(scope="module")
def search():
    spec = parse_search({**FIXED, "test_fraction": "0.2"}, SPACE, "random", 10)
    return run_search(spec, LocalBackend())


def test_batched_trials_give_the_numbers_of_each_trial_alone(search):
    assert len({(r.config.lr, r.config.activation) for r in search.results}) == 10
    for result in search.results[:4]:
        alone = train(GroupConfig.single(result.config))
        val = alone.scalars[alone.scalars["split"] == "val"]
        expected = {(step, metric): value for step, metric, value in zip(val["step"], val["metric"], val["value"])}
        # The weights train bit for bit alike; a group of one averages its loss in another order (one F.cross_entropy
        # rather than per-run means), so the validation loss may differ in its last bit.
        for step, _, val_loss, val_accuracy in result.curve:
            assert val_loss == pytest.approx(expected[(step, "loss")], rel=1e-6, abs=1e-7), step
            assert val_accuracy == expected[(step, "accuracy")], step
        assert len(result.curve) == len(expected) / 2
        summary = alone.summary["runs"][0]
        assert (result.status, result.steps) == (summary["status"], summary["steps"])


def test_a_trial_ends_at_its_early_stopping_point_and_keeps_its_best_net(search):
    stopped = [r for r in search.results if r.status == "early_stopped"]
    assert stopped, [r.status for r in search.results]
    for result in stopped:
        losses = {step: loss for step, _, loss, _ in result.curve}
        assert result.best_step == min(losses, key=lambda s: (losses[s], s))
        assert result.val_loss == losses[result.best_step]
        assert result.steps - result.best_step == 3 * 10  # patience 3 evaluations, every 10 steps
        # the kept net is the one measured at the best step: its validation loss, recomputed
        data = make_dataset(result.config)
        loss, accuracy = score(result.config, result.best_state, data.x_val, data.y_val)
        assert loss == pytest.approx(result.val_loss, rel=1e-5)
        assert accuracy == pytest.approx(result.val_accuracy, abs=1e-6)


def test_selection_reads_validation_only(search):
    assert search.chosen == max(search.results, key=lambda r: (r.val_accuracy, -r.val_loss)).index
    # Any test numbers at all in the results would be a leak: scramble everything but validation and the choice
    # stays; change one trial's validation accuracy to the best and the choice follows it.
    other = next(r for r in search.results if r.index != search.chosen)
    moved = [TrialResult(**{**vars(r), "curve": [], "best_state": None}) for r in search.results]
    moved[other.index].val_accuracy, moved[other.index].val_loss = 1.0, 0.0
    assert choose(search.results, regression=False) == search.chosen
    assert choose(moved, regression=False) == other.index


def test_the_test_split_is_scored_once_for_the_chosen_trial_and_is_held_out(search, monkeypatch):
    chosen = search.results[search.chosen]
    data = make_dataset(chosen.config)
    assert search.test is not None and search.test.points == len(data.y_test) == 42  # 0.2 of the 210 outside validation
    assert (search.test.loss, search.test.accuracy) == score(chosen.config, chosen.best_state, data.x_test,
                                                             data.y_test)
    train_rows = {tuple(row) for row in data.x_train.tolist()}
    assert not any(tuple(row) in train_rows for row in data.x_test.tolist())
    # without test_fraction there is no test split, and no test score
    no_test = make_dataset(RunConfig(dataset="moons", samples=300, seed=5))
    assert no_test.x_test is None and len(no_test.x_train) == 210
    calls = []
    import engine.search.run as run_module

    monkeypatch.setattr(run_module, "score", lambda *args: calls.append(args) or (0.0, 1.0))
    spec = parse_search({**FIXED, "steps": "20", "test_fraction": "0.2"}, {"lr": "log:1e-2:1"}, "grid", 3)
    assert run_search(spec, LocalBackend()).test is not None and len(calls) == 1


def test_a_test_split_leaves_the_validation_split_as_it_was():
    with_test = make_dataset(RunConfig(dataset="digits", test_fraction=0.2))
    without = make_dataset(RunConfig(dataset="digits"))
    assert np.array_equal(with_test.raw_val, without.raw_val)  # the same points (standardized by another mean)
    assert len(with_test.x_train) + len(with_test.x_test) == len(without.x_train)


def test_the_test_split_is_a_share_of_the_points_outside_validation_so_half_of_them_still_train():
    data = make_dataset(RunConfig(dataset="moons", samples=1000, val_fraction=0.9, test_fraction=0.5))
    assert (len(data.x_val), len(data.x_test), len(data.x_train)) == (900, 50, 50)
    with pytest.raises(ConfigError) as caught:
        parse_search({"test_fraction": "0.6"}, {"lr": "log:1e-3:1"})
    assert caught.value.problems[0].key == "test_fraction" and "0.5" in caught.value.problems[0].allowed


def test_a_stop_ends_every_trial_within_two_seconds():
    spec = parse_search({**FIXED, "steps": "200000", "early_stopping": "0"}, {"lr": "log:1e-3:1"}, "random", 8)
    started = time.monotonic()
    outcome = run_search(spec, LocalBackend(), should_stop=lambda: time.monotonic() - started > 1.0)
    assert time.monotonic() - started < 3.0
    assert outcome.stopped and all(r.status == "stopped" and 0 < r.steps < 200_000 for r in outcome.results)


def test_progress_streams_each_trial_while_the_batch_trains():
    seen = []
    spec = parse_search({**FIXED, "steps": "3000", "early_stopping": "0"}, {"lr": "log:1e-3:1"}, "random", 4)
    run_search(spec, LocalBackend(), on_update=lambda o: seen.append([r.steps for r in o.results if r]))
    partial = [steps for steps in seen if steps and max(steps) < 3000]
    assert partial, "no report before the end"


def test_the_backend_comes_from_the_environment_and_ray_says_how_to_install_it(monkeypatch):
    monkeypatch.delenv("LAYERSCOPE_BACKEND", raising=False)
    assert isinstance(get_backend(None), LocalBackend)
    with pytest.raises(ConfigError) as caught:
        get_backend("spark")
    assert caught.value.problems[0].key == "backend"


def _missing_ray(name, *args):
    raise ModuleNotFoundError("No module named 'ray'", name="ray")


def test_a_missing_ray_is_named_as_the_backend_with_how_to_install_it(monkeypatch):
    monkeypatch.setattr(backend.importlib, "import_module", _missing_ray)  # as on a machine without Ray
    with pytest.raises(ConfigError) as caught:
        get_backend("ray")
    problem = caught.value.problems[0]
    assert (problem.key, problem.value) == ("backend", "ray") and INSTALL_HINT in problem.allowed


def test_an_unreachable_ray_is_named_as_the_backend_not_a_traceback(monkeypatch):
    ray_backend = pytest.importorskip("engine.distributed.ray_backend")  # CI installs requirements-ray.txt

    def unreachable(num_cpus=None):
        raise RayUnavailable("Could not start or reach the Ray cluster at 10.9.9.9:6379: timed out")

    monkeypatch.setattr(ray_backend, "connect", unreachable)
    with pytest.raises(ConfigError) as caught:
        get_backend("ray")
    problem = caught.value.problems[0]
    assert problem.key == "backend" and "10.9.9.9:6379" in problem.message and "RAY_ADDRESS" in problem.allowed


def test_train_batch_is_a_plain_function_of_picklable_parts():
    import pickle

    spec = parse_search({**FIXED, "steps": "30"}, {"lr": "log:1e-2:1"}, "grid", 2)
    from engine.search.spec import batches

    (batch,) = batches(spec.trial_configs())
    results = pickle.loads(pickle.dumps(train_batch(pickle.loads(pickle.dumps(batch)))))
    assert [r.index for r in results] == [0, 1] and all(np.isfinite(r.val_loss) for r in results)
