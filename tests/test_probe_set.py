"""The probe set: activation statistics describe the net on fixed training points, not the luck of one batch.

Also the stats issue 12 added or redefined: flat tails (saturated_frac for squashing functions, inactive_frac for
one-sided ones), slope_mean, backward_gain (backprop as a product of one factor per layer) and zero_frac.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch

import engine
from engine.api import summarize
from engine.lessons.presets import load_preset
from engine.nets import activations
from engine.nets.stack import Stack
from engine.training.probes import PROBE_POINTS, STAT_INDEX, StackProbe
from engine.training.trainer import GroupTrainer
from engine.vocabulary.layers import hidden_names

# A healthy 3x32 ReLU net trained one point at a time (issue 12: batch 1 showed about half its units "dead").
HEALTHY_BATCH_ONE = {"hidden": "3x32", "activation": "relu", "optimizer": "adam", "lr": "0.002",
                     "batch_size": "1", "steps": "5000", "probe_every": "250"}


def _table(result: engine.TrainResult, stat: str, run: str = "a") -> pd.DataFrame:
    """step x layer of one stat of one run."""
    rows = result.layers[(result.layers["stat"] == stat) & (result.layers["run"] == run)]
    return rows.pivot(index="step", columns="layer", values="value")


def _relu_dead_fractions(state: dict[str, torch.Tensor], x: torch.Tensor, depth: int) -> list[float]:
    """Plain torch: the share of each hidden layer's units whose input s is <= 0 (relu's slope 0) at every row
    of x."""
    fractions, h = [], x
    for name in hidden_names(depth):
        s = h @ state[f"{name}.weight"].T + state[f"{name}.bias"]
        fractions.append(float((s <= 0).all(dim=0).double().mean()))
        h = torch.relu(s)
    return fractions


@pytest.mark.parametrize("seed", [0, 1])
def test_dead_units_at_batch_one_match_the_whole_training_set(seed: int) -> None:
    trainer = GroupTrainer(engine.parse_group({**HEALTHY_BATCH_ONE, "seed": str(seed)}))
    trainer.run()
    scalars, layers, *_ = summarize(trainer)
    end = int(layers["step"].max())
    final_val = scalars[(scalars["step"] == end) & (scalars["split"] == "val") & (scalars["metric"] == "loss")]
    assert float(final_val["value"].iloc[0]) < 0.1, "the net should be healthy: it learned the spiral"

    state = trainer.state_dict(0)
    everywhere = _relu_dead_fractions(state, trainer.data.x_train, 3)
    probed = layers[(layers["step"] == end) & (layers["stat"] == "dead_frac")].set_index("layer")["value"]
    for name, expected in zip(hidden_names(3), everywhere):
        assert abs(probed[name] - expected) <= 0.05, f"{name}: probe set {probed[name]:.3f}, all points {expected:.3f}"
    # What the old probe saw at batch 1: units judged on one point. Averaged over 50 points it is far off.
    one_point = np.mean([_relu_dead_fractions(state, trainer.data.x_train[i : i + 1], 3) for i in range(50)], axis=0)
    gap = float(np.mean(np.abs(one_point - np.array(everywhere))))
    assert gap > 0.2, f"one-point dead fractions {one_point} vs all points {everywhere}"


def test_the_probe_set_is_the_same_training_points_at_every_probe(monkeypatch) -> None:
    trainer = GroupTrainer(engine.parse_group({"hidden": "8,8", "batch_size": "4", "steps": "30",
                                               "probe_every": "10", "samples": "300", "norm": "batch"}))
    stack = trainer.stacks[0]
    seen: list[torch.Tensor] = []
    plain_forward = stack.forward

    def spy(x: torch.Tensor, mode: str = "train") -> torch.Tensor:
        if mode == "init":
            seen.append(x.clone())
        return plain_forward(x, mode)

    monkeypatch.setattr(stack, "forward", spy)
    trainer.run()
    assert len(seen) == 4  # steps 0, 10, 20, 30
    expected = trainer.data.x_train[: min(PROBE_POINTS, len(trainer.data.x_train))]
    for x in seen:
        assert torch.equal(x, expected)


def test_activation_stats_stay_put_while_the_net_does_even_at_batch_one() -> None:
    """With a learning rate of 1e-6 the net barely changes: the probe set's statistics barely move, though every
    probe step's minibatch is a different single point (whose gradients do move)."""
    result = engine.train({"hidden": "16,16", "activation": "relu", "lr": "1e-6", "batch_size": "1",
                           "steps": "200", "probe_every": "20"})
    for stat in ("act_mean", "preact_std", "inactive_frac", "slope_mean"):
        table = _table(result, stat)
        spread = float((table.max() - table.min()).abs().max())
        assert spread < 1e-3, f"{stat} moved by {spread} on a net that did not change"
    grad = _table(result, "grad_preact_rms")
    assert float((grad.max() / grad.min()).max()) > 1.5  # the minibatch's gradients do change


@pytest.mark.parametrize("mapping", [
    {"hidden": "8,8", "activation": "relu", "batch_size": "3"},  # the fast path
    {"hidden": "8,8", "activation": "tanh", "dropout": "0.3", "b.activation": "gelu", "b.dropout": "0.1"},
    {"hidden": "8,6", "activation": "sigmoid", "norm": "batch", "dropout": "0.2", "b.norm": "layer"},  # autograd
])
def test_probing_changes_no_training_number(mapping: dict) -> None:
    """Probing at every step and almost never gives the same weights, bit for bit (dropout masks and batch
    norm's running statistics included), and the same losses at the steps both measured."""
    base = {**mapping, "samples": "200", "steps": "60"}
    often, rarely = GroupTrainer(engine.parse_group({**base, "probe_every": "1"})), GroupTrainer(
        engine.parse_group({**base, "probe_every": "1000"}))
    often.run()
    rarely.run()
    for k in range(len(often.group.runs)):
        for name, tensor in often.state_dict(k).items():
            assert torch.equal(tensor, rarely.state_dict(k)[name]), f"run {k}: {name}"
    last_often, last_rarely = often.history.latest, rarely.history.latest
    assert np.array_equal(last_often.scalars, last_rarely.scalars)


# ---------------------------------------------------------------- flat tails: saturated_frac, inactive_frac


def _tail_fractions(activation: str, s: float) -> tuple[float, float]:
    """(saturated_frac, inactive_frac) the probe reports for one unit whose activation input is exactly s."""
    run = engine.parse_run({"activation": activation})
    stack = Stack([run], sizes=[2, 1, 2], dropout_seed=0)
    with torch.no_grad():
        stack.weights[0].copy_(torch.tensor([[[1.0], [0.0]]]))  # s = the first input
        stack.biases[0].zero_()
    stats, _, _ = StackProbe(stack, torch.tensor([[s, 0.0]])).measure()
    return float(stats[0, 0, STAT_INDEX["saturated_frac"]]), float(stats[0, 0, STAT_INDEX["inactive_frac"]])


@pytest.mark.parametrize(("activation", "s", "inactive"), [
    ("relu", -0.5, 1.0), ("relu", 0.0, 1.0), ("relu", 1e-6, 0.0), ("leaky_relu", -2.0, 1.0),
    ("gelu", -0.75, 0.0), ("gelu", -1.5, 0.0), ("gelu", -6.0, 1.0), ("gelu", 2.0, 0.0),
    ("swish", -1.28, 0.0), ("swish", -2.5, 0.0), ("swish", -6.0, 1.0),
    ("elu", -1.0, 0.0), ("elu", -6.0, 1.0), ("selu", -6.0, 1.0), ("softplus", -6.0, 1.0), ("softplus", 6.0, 0.0),
])
def test_one_sided_activations_count_only_the_flat_negative_tail_as_inactive(activation, s, inactive) -> None:
    """gelu's and swish's slope crosses zero in the middle of the curve (near -0.75 and -1.28): no tail."""
    saturated, measured = _tail_fractions(activation, s)
    assert measured == inactive, f"{activation} at s={s}: inactive {measured}"
    assert math.isnan(saturated), "one-sided activations have no saturated_frac"


@pytest.mark.parametrize(("activation", "s", "saturated"), [
    ("tanh", 3.0, 1.0), ("tanh", -3.0, 1.0), ("tanh", 1.0, 0.0), ("sigmoid", 6.0, 1.0), ("sigmoid", -6.0, 1.0),
    ("sigmoid", 2.0, 0.0),
])
def test_squashing_activations_count_both_flat_tails_as_saturated(activation, s, saturated) -> None:
    measured, inactive = _tail_fractions(activation, s)
    assert measured == saturated, f"{activation} at s={s}: saturated {measured}"
    assert math.isnan(inactive), "squashing activations have no inactive_frac"


def test_linear_has_no_flat_tail_and_a_wide_leak_none() -> None:
    assert all(math.isnan(v) for v in _tail_fractions("linear", -50.0))
    assert activations.tail_edges("leaky_relu", 0.2) == (-math.inf, math.inf)  # slope 0.2: 20% of the maximum
    assert {"sigmoid", "tanh"} == activations.SATURATING
    assert set(activations.NAMES) - {"sigmoid", "tanh", "linear"} == activations.ONE_SIDED


def test_relu_counts_no_saturation_on_the_vanishing_sigmoid_lesson() -> None:
    """Issue 12: the healthy relu + he_normal run showed 37-60% "saturated" next to the dying sigmoid net."""
    config = {**load_preset("vanishing-sigmoid").config, "activation": "sigmoid", "init": "standard",
              "b.activation": "relu", "b.init": "he_normal"}
    result = engine.train(config)
    relu_rows = result.layers[result.layers["run"] == "b"]
    assert "saturated_frac" not in set(relu_rows["stat"]), "relu has no flat tails to saturate in"
    inactive = _table(result, "inactive_frac", "b")
    assert ((inactive > 0.2) & (inactive < 0.8)).all().all(), f"relu's inactive share:\n{inactive}"
    sigmoid = _table(result, "saturated_frac", "a")
    assert sigmoid.notna().all().all() and "inactive_frac" not in set(result.layers[result.layers["run"] == "a"]
                                                                       ["stat"])


# ---------------------------------------------------------------- backprop as a product; zero_frac


def test_backward_gains_multiply_to_the_h1_over_top_gradient_ratio_at_every_probe() -> None:
    result = engine.train({"hidden": "16,8,12,8", "activation": "tanh", "b.activation": "relu",
                           "c.activation": "sigmoid", "c.init": "standard", "steps": "60", "probe_every": "10"})
    for run in "abc":
        gain, rms = _table(result, "backward_gain", run), _table(result, "grad_preact_rms", run)
        assert len(gain) == 7
        product = gain[["h1", "h2", "h3"]].prod(axis=1)
        ratio = rms["h1"] / rms["h4"]
        np.testing.assert_allclose(product, ratio, rtol=1e-5)
        np.testing.assert_allclose(gain["h4"], rms["h4"] / rms["out"], rtol=1e-6)
        assert "out" not in gain.columns


def test_a_deep_sigmoid_net_shrinks_the_gradient_at_every_layer_because_its_slope_is_at_most_a_quarter() -> None:
    config = {**load_preset("vanishing-sigmoid").config, "activation": "sigmoid", "init": "standard",
              "hidden": "8x32", "steps": "1"}
    result = engine.train(config)
    slope, gain = _table(result, "slope_mean").loc[0], _table(result, "backward_gain").loc[0]
    assert len(slope) == 8 and (slope <= 0.25).all(), slope
    assert len(gain) == 8 and (gain < 0.5).all(), gain


def test_slope_mean_is_the_mean_slope_on_the_probe_set() -> None:
    trainer = GroupTrainer(engine.parse_group({"hidden": "6,6", "activation": "tanh", "steps": "20"}))
    trainer.run()
    _, layers, *_ = summarize(trainer)
    state = trainer.state_dict(0)
    h = trainer.data.x_train[:PROBE_POINTS]
    rows = layers[(layers["step"] == 20) & (layers["stat"] == "slope_mean")].set_index("layer")["value"]
    for name in hidden_names(2):
        s = h @ state[f"{name}.weight"].T + state[f"{name}.bias"]
        h = torch.tanh(s)
        assert rows[name] == pytest.approx(float((1 - h * h).mean()), rel=1e-5)


@pytest.mark.parametrize(("init", "expected"), [("he_normal", 0.0), ("zeros", 1.0)])
def test_zero_frac_counts_weights_that_are_exactly_zero(init: str, expected: float) -> None:
    result = engine.train({"hidden": "6,5", "init": init, "steps": "1"})
    zero = _table(result, "zero_frac").loc[0]
    assert list(zero.index) == ["h1", "h2", "out"] and (zero == expected).all(), zero
