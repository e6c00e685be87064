"""Greedy layer-wise pre-training (engine/pretraining/): layer by layer for real, autoencoders that learn and
denoise, labels that limit fine-tuning, the same numbers from the same seed, clear messages for bad values."""

from __future__ import annotations

import pytest
import torch

from engine.api import train
from engine.pretraining.autoencoder import BatchedAutoencoder
from engine.pretraining.noise import RunNoise
from engine.training.trainer import GroupTrainer
from engine.vocabulary.applies import applies
from engine.vocabulary.config import ConfigError
from engine.vocabulary.group import parse_group

SMALL = {"dataset": "digits", "hidden": "3x16", "activation": "sigmoid", "batch_size": "64", "steps": "20",
         "probe_every": "5", "pretrain_epochs": "2"}


def _weights(trainer: GroupTrainer) -> list[torch.Tensor]:
    return [w.detach().clone() for w in trainer.stacks[0].weights]


@pytest.mark.parametrize("method", ["autoencoder", "rbm"])
def test_each_layer_trains_alone_on_frozen_codes_then_fine_tuning_changes_all(method):
    trainer = GroupTrainer(parse_group({**SMALL, "pretrain": method}))
    cohort = trainer.pretraining.cohorts[0]
    initial = _weights(trainer)
    changed_in_phase = {0: set(), 1: set(), 2: set()}
    while not trainer.pretraining.done:
        layer = cohort.layer
        before = _weights(trainer)
        trainer.advance(1)
        after = _weights(trainer)
        changed_in_phase[layer] |= {i for i, (a, b) in enumerate(zip(before, after)) if not torch.equal(a, b)}
    assert changed_in_phase == {0: {0}, 1: {1}, 2: {2}}  # only the layer in its phase; never the output layer
    assert trainer.step == 0
    pretrained = _weights(trainer)
    assert all(not torch.equal(a, b) for a, b in zip(initial[:3], pretrained[:3]))
    trainer.advance(10)
    assert trainer.step == 10
    assert all(not torch.equal(a, b) for a, b in zip(pretrained, _weights(trainer)))


def test_runs_without_pre_training_wait_at_step_zero_and_cost_nothing():
    trainer = GroupTrainer(parse_group({**SMALL, "b.pretrain": "autoencoder"}))
    assert [c.run_ids for c in trainer.pretraining.cohorts] == [["b"]]
    trainer.advance(5)
    assert trainer.step == 0 and trainer.phase.startswith("pre-training h1: epoch 1 of 2")
    plain = GroupTrainer(parse_group(SMALL))
    assert plain.pretraining.cohorts == [] and plain.pretraining.done and plain.phase == "training"
    plain.advance(3)
    assert plain.step == 3


def test_autoencoder_reconstruction_error_falls_and_the_table_is_tidy():
    result = train({**SMALL, "pretrain": "autoencoder", "pretrain_epochs": "5", "steps": "5"})
    table = result.pretrain
    assert list(table.columns) == ["run", "layer", "epoch", "metric", "value"]
    for layer in ("h1", "h2", "h3"):
        error = table[(table.layer == layer) & (table.metric == "reconstruction_error")].set_index("epoch").value
        assert list(error.index) == [0, 1, 2, 3, 4, 5]
        assert error[5] < error[1] < error[0], (layer, error.tolist())
        assert error[5] < {"h1": 0.85, "h2": 0.95, "h3": 0.95}[layer] * error[0], (layer, error.tolist())
    probe = table[table.metric == "probe_accuracy"]
    assert list(probe.layer) == ["h1", "h2", "h3"] and (probe.value > 0.2).all()  # chance is about 0.1
    assert train({**SMALL, "steps": "5"}).pretrain.empty


def test_the_denoising_decoder_sees_corrupted_inputs_and_is_scored_on_clean_ones():
    torch.manual_seed(0)
    x = torch.rand(1, 200, 30) * 0.9 + 0.1  # no zeros of its own
    model = BatchedAutoencoder(torch.randn(1, 30, 8) * 0.1, torch.zeros(1, 1, 8), torch.tensor([[[True]]]),
                               [("sigmoid", 0.0)], torch.tensor([[[0.4]]]), RunNoise([0]))
    seen = {}
    encode, loss = model.encode, model.loss
    model.encode = lambda inputs: seen.setdefault("encoded", inputs) is not None and encode(inputs)
    model.loss = lambda corrupted, clean: seen.setdefault("target", clean) is not None and loss(corrupted, clean)
    model.step(x, torch.tensor([[[0.1]]]))
    zeroed = float((seen["encoded"] == 0).float().mean())
    assert 0.35 < zeroed < 0.45  # corruption 0.4: masking noise on the encoder's input
    assert torch.equal(seen["target"], x)  # the loss compares with the clean input


def test_labels_limit_fine_tuning_but_not_pre_training():
    trainer = GroupTrainer(parse_group({**SMALL, "labels": "100", "pretrain": "autoencoder"}))
    assert trainer.data.n_labelled == 100 and len(trainer.data.x_train) > 1000
    seen = set()
    next_batch = trainer.sampler.next
    trainer.sampler.next = lambda: seen.update(b := next_batch()) or b
    trainer.advance(trainer.pretraining.total_updates)
    assert trainer.pretraining.done and trainer.step == 0
    trainer.advance(30)
    assert seen and max(int(i) for i in seen) < 100  # 30 batches of 64 drawn from the first 100 points only
    plain = GroupTrainer(parse_group(SMALL))
    assert plain.sampler.n == len(plain.data.x_train)


def test_same_seed_same_numbers_and_a_run_alone_equals_it_in_a_group():
    config = {**SMALL, "pretrain": "rbm", "steps": "10"}
    first, second = train(config), train(config)
    assert first.pretrain.equals(second.pretrain)
    assert all(torch.equal(first.weights["a"][n], second.weights["a"][n]) for n in first.weights["a"])
    grouped = train({**config, "b.pretrain_lr": "0.05"})  # the seed also picks the data split: keep it
    alone_b = train({**config, "pretrain_lr": "0.05"})
    b_rows = grouped.pretrain[grouped.pretrain.run == "b"].reset_index(drop=True)
    assert b_rows.drop(columns="run").equals(alone_b.pretrain.drop(columns="run"))
    assert not b_rows.value.equals(first.pretrain.value)


@pytest.mark.parametrize(("mapping", "key", "allowed"), [
    ({"pretrain": "dbn"}, "pretrain", "one of none, autoencoder, rbm"),
    ({"pretrain_epochs": "500"}, "pretrain_epochs", "a whole number from 1 to 100"),
    ({"cd_k": "0"}, "cd_k", "a whole number from 1 to 25"),
    ({"corruption": "1.5"}, "corruption", "a number from 0 to 0.9"),
    ({"labels": "-3"}, "labels", "a whole number from 0 to 50,000"),
    ({"persistent": "maybe"}, "persistent", "true or false"),
    ({"pretrain": "rbm", "norm": "batch"}, "pretrain", "one of none, autoencoder, rbm"),
])
def test_bad_values_get_messages_naming_key_value_and_what_is_allowed(mapping, key, allowed):
    with pytest.raises(ConfigError) as caught:
        parse_group(mapping)
    (problem,) = caught.value.problems
    assert problem.key == key and problem.allowed == allowed
    assert str(mapping[key]) in problem.value


def test_labels_are_shared_by_the_group():
    with pytest.raises(ConfigError) as caught:
        parse_group({"b.labels": "100"})
    assert caught.value.problems[0].key == "b.labels"


OTHER_VALUE = {"pretrain_epochs": "2", "pretrain_lr": "0.05", "corruption": "0.5", "cd_k": "3", "persistent": "true"}


@pytest.mark.parametrize("key", list(OTHER_VALUE))
def test_a_pre_training_key_changes_training_exactly_where_it_applies(key):
    for method in ("none", "autoencoder", "rbm"):
        trainer = GroupTrainer(parse_group({**SMALL, "hidden": "2x8", "pretrain_epochs": "1", "pretrain": method,
                                            f"b.{key}": OTHER_VALUE[key]}))
        trainer.advance(trainer.pretraining.total_updates + 3)
        assert trainer.step == 3
        a, b = trainer.state_dict(0), trainer.state_dict(1)
        changed = any(not torch.equal(a[name], b[name]) for name in a)
        assert changed == applies(key, trainer.group.runs[0]), (key, method)


@pytest.mark.parametrize(("dataset", "activation", "method"), [
    ("spiral", "tanh", "autoencoder"), ("sine", "relu", "rbm"), ("moons", "sigmoid", "rbm"),
    ("digits", "gelu", "autoencoder"),
])
def test_every_kind_of_input_pre_trains_to_finite_numbers(dataset, activation, method):
    result = train({"dataset": dataset, "activation": activation, "hidden": "2x8", "samples": "200", "steps": "3",
                    "pretrain": method, "pretrain_epochs": "2", "persistent": "true"})
    table = result.pretrain
    probe = "probe_mse" if dataset == "sine" else "probe_accuracy"
    assert set(table.layer) == {"h1", "h2"} and probe in set(table.metric)
    assert table.value.notna().all() and (table.value.abs() < 1e6).all()
    assert result.summary["runs"][0]["status"] == "finished"


def test_a_stopped_group_stops_pre_training_too():
    trainer = GroupTrainer(parse_group({**SMALL, "pretrain": "autoencoder"}))
    trainer.advance(2)
    trainer.stop()
    before = _weights(trainer)
    trainer.advance(5)
    assert trainer.done and all(torch.equal(a, b) for a, b in zip(before, _weights(trainer)))


def test_the_first_layer_weights_are_each_runs_h1_as_it_is_now():
    trainer = GroupTrainer(parse_group({**SMALL, "b.pretrain": "rbm"}))
    trainer.advance(trainer.pretraining.total_updates)
    first = trainer.first_layer_weights()
    assert set(first) == {"a", "b"} and first["a"].shape == (16, 64)
    for k, run_id in enumerate(trainer.ids):
        assert torch.equal(torch.from_numpy(first[run_id]), trainer.state_dict(k)["h1.weight"])
    fantasies = trainer.pretraining.fantasies()
    assert set(fantasies) == {"b"} and fantasies["b"].shape == (16, 64) and fantasies["b"].isfinite().all()
