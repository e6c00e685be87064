"""Training a group: every option runs, lock-step, determinism, divergence, bounded history, weights."""

from __future__ import annotations

import itertools
import math
from typing import get_args

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

import engine
from engine.nets.activations import ONE_SIDED, SATURATING
from engine.training.history import History
from engine.training.probes import STATS
from engine.training.trainer import GroupTrainer
from engine.vocabulary.config import Activation, Init, Norm, Optimizer

ACTIVATIONS, INITS, NORMS, OPTIMIZERS = (get_args(t) for t in (Activation, Init, Norm, Optimizer))
SMALL = {"hidden": "6,5", "samples": "120", "steps": "3", "probe_every": "1", "batch_size": "16"}


def _norm_optimizer_groups() -> list[list[tuple[str, str]]]:
    pairs = list(itertools.product(NORMS, OPTIMIZERS))
    return [pairs[i : i + 4] for i in range(0, len(pairs), 4)]


@pytest.mark.parametrize(("activation", "init"), list(itertools.product(ACTIVATIONS, INITS)))
def test_every_activation_init_norm_optimizer_trains_with_finite_stats(activation: str, init: str) -> None:
    """All 10 x 12 x 3 x 7 combinations, four runs per group, a few steps each."""
    for chunk in _norm_optimizer_groups():
        mapping = {**SMALL, "activation": activation, "init": init, "init_std": "0.5", "dropout": "0.1"}
        for run_id, (norm, optimizer) in zip("abcd", chunk):
            prefix = "" if run_id == "a" else f"{run_id}."
            mapping[f"{prefix}norm"] = norm
            mapping[f"{prefix}optimizer"] = optimizer
            mapping[f"{prefix}lr"] = "0.01"
        result = engine.train(mapping)
        assert {r["status"] for r in result.summary["runs"]} == {"finished"}, (activation, init, chunk)
        layers = result.layers
        # Flat tails are counted as saturated_frac for squashing functions, inactive_frac for one-sided ones.
        expected = set(STATS) - {"update_ratio"}
        expected -= {"saturated_frac"} if activation not in SATURATING else set()
        expected -= {"inactive_frac"} if activation not in ONE_SIDED else set()
        assert expected <= set(layers["stat"]) <= expected | {"update_ratio"}, (activation, init, chunk)
        assert set(layers["run"]) == set("abcd"[: len(chunk)])
        # update_ratio is undefined (NaN) only where the weights are exactly zero (init=zeros);
        # NaN rows are dropped from the table, everything that is there must be finite.
        assert np.isfinite(layers["value"]).all(), (activation, init, chunk)
        assert np.isfinite(result.scalars["value"]).all()


def test_histograms_count_every_entry() -> None:
    """act and preact count every entry of the probe set (all 84 training points here), grad every entry of
    the minibatch."""
    result = engine.train({**SMALL, "hidden": "7,5", "batch_size": "16"})
    totals = result.hists.groupby(["step", "layer", "kind"])["count"].sum().unstack("kind")
    widths = {"h1": 7, "h2": 5}
    for (_, layer), row in totals.iterrows():
        assert row["act"] == row["preact"] == 84 * widths[layer], row
        assert row["grad"] == 16 * widths[layer], row


def test_same_config_gives_bit_identical_tables() -> None:
    mapping = {"hidden": "8,8", "dropout": "0.2", "steps": "60", "b.optimizer": "adam", "b.lr": "0.01",
               "c.norm": "batch", "c.activation": "relu", "samples": "200"}
    first, second = engine.train(mapping), engine.train(mapping)
    for name in ("scalars", "layers", "hists"):
        pd.testing.assert_frame_equal(getattr(first, name), getattr(second, name))
    different = engine.train({**mapping, "seed": "1"})
    assert not first.layers["value"].equals(different.layers["value"])


def test_runs_in_a_group_see_the_same_batches_and_start_from_the_same_weights() -> None:
    """Run a alone and run a inside a group of four give exactly the same numbers."""
    alone = engine.train({"hidden": "16,16", "steps": "80"})
    grouped = engine.train({"hidden": "16,16", "steps": "80", "b.activation": "relu", "c.optimizer": "adam",
                            "d.hidden": "8"})
    for name in ("scalars", "layers"):
        mine = getattr(grouped, name)
        mine = mine[mine["run"] == "a"].reset_index(drop=True)
        pd.testing.assert_frame_equal(getattr(alone, name), mine, check_categorical=False)  # values, not run lists
    trainer = GroupTrainer(engine.parse_group({"hidden": "8", "b.activation": "relu", "c.lr": "0.5"}))
    weights = [trainer.state_dict(k)["h1.weight"] for k in range(3)]
    assert torch.equal(weights[0], weights[1]) and torch.equal(weights[0], weights[2])


def test_a_diverging_run_ends_and_the_others_go_on() -> None:
    result = engine.train({"dataset": "sine", "lr": "10", "b.lr": "0.01", "steps": "300"})
    runs = {r["run"]: r for r in result.summary["runs"]}
    assert runs["a"]["status"] == "diverged"
    assert runs["a"]["steps"] < 300
    assert runs["b"]["status"] == "finished" and runs["b"]["steps"] == 300
    assert result.scalars[result.scalars["run"] == "b"]["step"].max() == 300
    assert result.scalars[result.scalars["run"] == "a"]["step"].max() <= runs["a"]["steps"]
    assert any(f["code"] == "diverged" and f["run"] == "a" for f in result.findings)
    assert all(torch.isfinite(t).all() for t in result.weights["b"].values())


def test_probe_steps_include_step_zero_and_the_end() -> None:
    result = engine.train({"hidden": "4", "steps": "25", "probe_every": "10"})
    assert sorted(result.layers["step"].unique()) == [0, 10, 20, 25]
    first = result.layers[(result.layers["step"] == 0) & (result.layers["stat"] == "update_ratio")]
    assert (first["value"] > 0).all()  # the update taken at step 0 is measured at step 0


def test_early_stopping_ends_a_run_without_stopping_the_group() -> None:
    mapping = {"samples": "60", "noise": "0.6", "hidden": "64,64", "optimizer": "adam", "lr": "0.01",
               "steps": "3000", "early_stopping": "5", "b.early_stopping": "0", "b.lr": "0.001"}
    result = engine.train(mapping)
    runs = {r["run"]: r for r in result.summary["runs"]}
    assert runs["a"]["status"] == "early_stopped" and runs["a"]["steps"] < 3000
    assert runs["b"]["status"] == "finished"


def test_history_is_bounded_with_even_spacing_after_50000_steps() -> None:
    trainer = GroupTrainer(engine.parse_group({"hidden": "2", "steps": "50000", "probe_every": "5",
                                               "batch_size": "8", "samples": "100"}))
    trainer.run()
    history = trainer.history
    points = history.snapshots()
    assert history.seen == 10_001
    assert len(points) <= history.capacity + 1
    steps = [p.step for p in points]
    assert steps[-1] == 50_000
    gaps = np.diff(steps[:-1])
    assert len(set(gaps)) == 1 and gaps[0] == 5 * history.stride
    assert history.nbytes() < 2_000_000


def test_history_keeps_latest_and_halves_when_full() -> None:
    history = History(capacity=8)
    from engine.training.history import Snapshot

    def snap(step: int) -> Snapshot:
        return Snapshot(step=step, runs=["a"], scalars=np.zeros((1, 6)), layers=[np.zeros((1, 10))], hists=[{}])

    for step in range(100):
        history.add(snap(step), index=step)
    history.add(snap(100), index=None)  # off the probe grid: kept as the latest only
    kept = [s.step for s in history.snapshots()]
    assert len(kept) <= 9 and kept[-1] == 100 and kept[-2] != 99 and kept[0] == 0
    assert len(set(np.diff(kept[:-1]))) == 1


def test_stop_marks_every_running_run_stopped() -> None:
    trainer = GroupTrainer(engine.parse_group({"hidden": "4", "steps": "1000", "b.lr": "0.3"}))
    trainer.advance(10)
    trainer.stop()
    assert trainer.done and trainer.status == ["stopped", "stopped"]
    assert trainer.advance(10) == []


@pytest.mark.parametrize("norm", ["none", "batch", "layer"])
def test_downloaded_weights_load_into_a_plain_torch_net(norm: str) -> None:
    """The weights file is an nn.Linear state_dict per layer: rebuild the net and get the same outputs."""
    mapping = {"hidden": "6,5", "activation": "gelu", "norm": norm, "steps": "40", "samples": "120"}
    trainer = GroupTrainer(engine.parse_group(mapping))
    trainer.run()
    state = trainer.state_dict(0)
    layers: list[nn.Module] = []
    sizes = [2, 6, 5, 2]
    names = ["h1", "h2"]
    for i, name in enumerate(names):
        linear = nn.Linear(sizes[i], sizes[i + 1])
        linear.load_state_dict({"weight": state[f"{name}.weight"], "bias": state[f"{name}.bias"]})
        layers.append(linear)
        if norm == "batch":
            bn = nn.BatchNorm1d(sizes[i + 1])
            bn.load_state_dict({"weight": state[f"{name}.norm.weight"], "bias": state[f"{name}.norm.bias"],
                                "running_mean": state[f"{name}.norm.running_mean"],
                                "running_var": state[f"{name}.norm.running_var"],
                                "num_batches_tracked": torch.tensor(40)})
            layers.append(bn)
        elif norm == "layer":
            ln = nn.LayerNorm(sizes[i + 1])
            ln.load_state_dict({"weight": state[f"{name}.norm.weight"], "bias": state[f"{name}.norm.bias"]})
            layers.append(ln)
        layers.append(nn.GELU())
    out = nn.Linear(5, 2)
    out.load_state_dict({"weight": state["out.weight"], "bias": state["out.bias"]})
    net = nn.Sequential(*layers, out).eval()
    x = trainer.data.x_val
    with torch.no_grad():
        expected = trainer.stacks[0].forward(x, mode="eval")[0]
        torch.testing.assert_close(net(x), expected, rtol=1e-4, atol=1e-5)


def test_val_metrics_use_eval_mode_without_dropout() -> None:
    trainer = GroupTrainer(engine.parse_group({"hidden": "16", "dropout": "0.5", "steps": "5"}))
    stack = trainer.stacks[0]
    with torch.no_grad():
        first = stack.forward(trainer.data.x_val, mode="eval")
        second = stack.forward(trainer.data.x_val, mode="eval")
        noisy = stack.forward(trainer.data.x_val, mode="train")
    assert torch.equal(first, second)
    assert not torch.equal(first, noisy)


def test_regression_has_loss_but_no_accuracy() -> None:
    result = engine.train({"dataset": "sine", "hidden": "16,16", "steps": "50"})
    metrics = set(zip(result.scalars["split"], result.scalars["metric"]))
    assert ("val", "loss") in metrics and ("train", "grad_norm") in metrics
    assert not any(m == "accuracy" for _, m in metrics)


def test_step_zero_weight_grad_is_the_loss_gradient_before_weight_decay() -> None:
    plain = engine.train({"hidden": "8", "steps": "1"})
    decayed = engine.train({"hidden": "8", "steps": "1", "weight_decay": "0.5", "l1": "0.5"})

    def step0(result: engine.TrainResult, stat: str) -> pd.Series:
        rows = result.layers[(result.layers["step"] == 0) & (result.layers["stat"] == stat)]
        return rows.set_index("layer")["value"]

    pd.testing.assert_series_equal(step0(plain, "weight_grad_rms"), step0(decayed, "weight_grad_rms"))
    assert (step0(decayed, "update_ratio") > step0(plain, "update_ratio")).all()
    assert math.isfinite(float(step0(plain, "update_ratio").iloc[0]))


def test_skipped_probes_change_nothing_but_the_cost() -> None:
    """Probes the history would drop are not measured; what it keeps is identical, whatever the slicing."""
    mapping = {"hidden": "6,6", "steps": "3000", "probe_every": "1", "samples": "200"}
    whole = engine.train(mapping)
    trainer = GroupTrainer(engine.parse_group(mapping))
    while not trainer.done:
        trainer.advance(37)  # odd slices: every slice measures its last probe step for live views
    from engine.api import summarize

    scalars, layers, _, _, _ = summarize(trainer)
    pd.testing.assert_frame_equal(whole.layers, layers)
    pd.testing.assert_frame_equal(whole.scalars, scalars)
    steps = sorted(whole.layers["step"].unique())
    assert steps[-1] == 3000 and len(steps) <= 257
    assert len(set(np.diff(steps[:-1]))) == 1  # evenly spaced, then the latest
