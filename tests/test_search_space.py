"""The search space: one spec syntax, grid and random trial sets as promised, clear errors for bad specs."""

from __future__ import annotations

import math

import numpy as np
import pytest

from engine.search.space import grid_points, grid_trials, parse_dimension, parse_space, random_trials
from engine.search.spec import DEFAULT_PATIENCE, batches, parse_search
from engine.vocabulary.config import ConfigError


def test_each_kind_of_spec_reads_and_writes_back():
    lr = parse_dimension("lr", "log:1e-4:1")
    assert (lr.kind, lr.low, lr.high, lr.spec()) == ("log", 1e-4, 1.0, "log:0.0001:1")
    assert parse_dimension("dropout", "0:0.5").kind == "uniform"
    assert parse_dimension("batch_size", "int:16:256").kind == "int"
    assert parse_dimension("activation", "relu|tanh|elu").choices == ("relu", "tanh", "elu")
    hidden = parse_dimension("hidden", "32,32|8x16")
    assert hidden.choices == ("2x32", "8x16")  # each choice as the vocabulary writes it
    assert parse_dimension("lr", lr.spec()) == lr


@pytest.mark.parametrize(("key", "spec", "says"), [
    ("lr", "log:0:1", "starts above 0"),
    ("lr", "log:1:0.1", "low < high"),
    ("lr", "1e-7:1", "leaves the key's bounds"),
    ("lr", "log:a:1", "are numbers"),
    ("batch_size", "16:256", "int range"),
    ("batch_size", "int:1.5:8", "whole-number ends"),
    ("activation", "relu|wobble", "'wobble'"),
    ("activation", "0:1", "for number keys"),
    ("hidden", "32||16", "empty choice"),
    ("learning_rate", "log:1e-4:1", "not a key"),
    ("seed", "int:0:9", "does not vary"),
    ("val_fraction", "0.1:0.3", "same validation points"),
])
def test_a_bad_spec_names_the_key_the_spec_and_what_is_allowed(key, spec, says):
    with pytest.raises(ConfigError) as caught:
        parse_dimension(key, spec)
    (problem,) = caught.value.problems
    assert problem.key == key and spec in problem.value and says in problem.message and problem.allowed


def test_every_bad_key_is_reported_together():
    with pytest.raises(ConfigError) as caught:
        parse_space({"lr": "log:0:1", "dropout": "0:2", "momentum": "0:0.9"})
    assert [p.key for p in caught.value.problems] == ["lr", "dropout"]


def test_a_grid_takes_evenly_spaced_points_on_each_scale_and_every_combination():
    space = parse_space({"lr": "log:1e-4:1", "dropout": "0:0.5", "activation": "relu|tanh"})
    trials = grid_trials(space, 18)
    assert len(trials) == 18 and grid_points(space, 18) == 3
    assert sorted({t["lr"] for t in trials}) == [1e-4, 1e-2, 1.0]  # geometric on a log range
    assert sorted({t["dropout"] for t in trials}) == [0.0, 0.25, 0.5]  # arithmetic on a uniform one
    combos = {(t["lr"], t["dropout"], t["activation"]) for t in trials}
    assert len(combos) == 18  # every combination once
    assert len(grid_trials(space, 17)) == 8  # the largest grid within the budget: 2 points per range


def test_a_grid_over_more_choices_than_the_budget_is_refused():
    with pytest.raises(ConfigError, match="at least 3 trials"):
        grid_trials(parse_space({"activation": "relu|tanh|elu"}), 2)


def test_random_draws_n_trials_within_each_range_on_its_scale_and_repeats_from_its_seed():
    space = parse_space({"lr": "log:1e-4:1", "batch_size": "int:16:256", "norm": "none|layer"})
    trials = random_trials(space, 400, seed=3)
    assert len(trials) == 400 and trials == random_trials(space, 400, seed=3)
    assert trials != random_trials(space, 400, seed=4)
    lrs = np.array([t["lr"] for t in trials])
    assert lrs.min() >= 1e-4 and lrs.max() <= 1
    # log-uniform: about a quarter in each decade of the four
    decades = np.histogram(np.log10(lrs), bins=[-4, -3, -2, -1, 0])[0]
    assert decades.min() > 60, decades
    sizes = [t["batch_size"] for t in trials]
    assert all(isinstance(s, int) and 16 <= s <= 256 for s in sizes) and len(set(sizes)) > 100
    assert {t["norm"] for t in trials} == {"none", "layer"}
    assert len({t["lr"] for t in trials}) > 300  # a random search tries a new lr nearly every trial


def test_random_tries_more_distinct_values_of_each_key_than_a_grid_at_equal_budget():
    space = parse_space({"lr": "log:1e-4:1", "weight_decay": "log:1e-6:1e-2"})
    grid, rand = grid_trials(space, 9), random_trials(space, 9, seed=0)
    assert len({t["lr"] for t in grid}) == 3 and len({t["lr"] for t in rand}) == 9


def test_edges_are_the_outer_tenth_of_a_range_on_its_own_scale():
    lr = parse_dimension("lr", "log:1e-4:1")
    assert lr.at_edge(0.5) == "high" and lr.at_edge(2e-4) == "low" and lr.at_edge(0.01) is None
    assert parse_dimension("activation", "relu|tanh").at_edge("relu") is None


def test_a_search_checks_its_parts_together_and_sets_early_stopping():
    with pytest.raises(ConfigError) as caught:
        parse_search({"lr": "0.1", "hidden": "0x"}, {"lr": "log:1e-3:1"}, method="bayes", trials="0")
    keys = {p.key for p in caught.value.problems}
    assert keys == {"lr", "hidden", "method", "trials"}
    spec = parse_search({"dataset": "moons"}, {"lr": "log:1e-3:1"}, "random", 5)
    assert spec.base.early_stopping == DEFAULT_PATIENCE
    assert parse_search({"early_stopping": "3"}, {"lr": "log:1e-3:1"}).base.early_stopping == 3


def test_a_combination_the_vocabulary_refuses_fails_before_training():
    with pytest.raises(ConfigError) as caught:
        parse_search({"pretrain": "rbm"}, {"norm": "none|batch"}, "grid", 2)
    assert caught.value.problems[0].key == "trial 1: pretrain"


def test_batches_hold_trials_that_share_the_group_keys_and_seed():
    spec = parse_search({"dataset": "moons"}, {"batch_size": "int:16:18", "lr": "log:1e-3:1"}, "random", 40)
    configs = spec.trial_configs()
    plan = batches(configs, size=8)
    assert sorted(i for b in plan for i in b.indices) == list(range(40))
    for batch in plan:
        assert len(batch.configs) <= 8 and len({c.batch_size for c in batch.configs}) == 1
    assert math.isclose(len(plan), sum(math.ceil(n / 8) for n in
                                       np.unique([c.batch_size for c in configs], return_counts=True)[1]))
