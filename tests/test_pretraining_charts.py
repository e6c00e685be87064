"""The pre-training charts (app/charts/pretraining.py, app/charts/tiles.py) against a real pre-training run on
digits (run a: RBM, run b: autoencoder) and hand-made tables: the traces hold the table's and the arrays' values
exactly, one heatmap per run with NaN lines between the tiles, words computed from the table, a waiting figure
without data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
import pytest

import engine
from app.charts import (
    fantasies_figure,
    fantasies_words,
    filters_figure,
    filters_words,
    pretraining_figure,
    pretraining_words,
    start_depth_figure,
)
from app.charts.style import MARGIN, WAITING
from app.charts.tiles import tiled
from engine.pretraining.greedy import FANTASY_STEPS
from engine.training.trainer import GroupTrainer
from engine.vocabulary.group import parse_group

RUN = {"dataset": "digits", "hidden": "2x32", "activation": "sigmoid", "batch_size": "64", "steps": "2",
       "pretrain_epochs": "3", "pretrain": "rbm", "b.pretrain": "autoencoder"}


@pytest.fixture(scope="module")
def pretrained() -> GroupTrainer:
    trainer = GroupTrainer(parse_group(RUN))
    while not trainer.pretraining.done:
        trainer.advance(100)
    return trainer


def _valid(fig: go.Figure) -> go.Figure:
    go.Figure(fig.to_dict())  # the builders skip Plotly's validation; every property must still be valid
    pio.to_json(fig, validate=False)
    return fig


def _waiting(fig: go.Figure) -> bool:
    return not fig.data and any(WAITING.rstrip("…") in a.text for a in fig.layout.annotations)


# ---------------------------------------------------------------------------------- reconstruction and probe


def test_every_line_holds_the_tables_values_exactly(pretrained):
    table = pretrained.pretraining.table()
    fig = _valid(pretraining_figure(table, labels={"a": "rbm", "b": "autoencoder"}))
    lines = {t.name: t for t in fig.data if t.xaxis == "x"}
    assert set(lines) == {f"{label} · {layer}" for label in ("rbm", "autoencoder") for layer in ("h1", "h2")}
    for run, label in (("a", "rbm"), ("b", "autoencoder")):
        for layer in ("h1", "h2"):
            rows = table[(table.run == run) & (table.layer == layer) & (table.metric == "reconstruction_error")]
            rows = rows.sort_values("epoch")
            assert list(lines[f"{label} · {layer}"].x) == [0, 1, 2, 3] == list(rows.epoch)
            np.testing.assert_array_equal(lines[f"{label} · {layer}"].y, rows.value.to_numpy())
        (probe,) = [t for t in fig.data if t.xaxis == "x2" and t.legendgroup == run]
        rows = table[(table.run == run) & (table.metric == "probe_accuracy")]
        assert list(probe.x) == ["h1", "h2"]
        np.testing.assert_array_equal(probe.y, [rows[rows.layer == name].value.iloc[0] for name in ("h1", "h2")])
    # h1 reconstructs standardized pixels (about 1), h2 a sigmoid code (below 0.1): a decade apart, so log y
    assert fig.layout.yaxis.type == "log"
    assert list(fig.layout.yaxis2.range) == [-0.02, 1.02]


def test_the_words_are_computed_from_the_table(pretrained):
    table = pretrained.pretraining.table()
    words = pretraining_words(table, labels={"a": "rbm"})
    assert len(words) == 2
    h1 = table[(table.run == "a") & (table.layer == "h1") & (table.metric == "reconstruction_error")]
    start, end = h1.sort_values("epoch").value.iloc[[0, -1]]
    assert end < start  # CD-1 lowers the reconstruction error of digits in 3 epochs
    probe = table[(table.run == "a") & (table.metric == "probe_accuracy")].set_index("layer").value
    assert words[0] == (f"rbm: h1's reconstruction error fell from {start:.2g} to {end:.2g} in 3 epochs; "
                        f"the probe reads {probe['h1']:.0%} from h1's code and {probe['h2']:.0%} from h2's code")
    assert words[1].startswith("b: h1's reconstruction error")  # a run without a label: its id
    assert pretraining_words(table, labels={"a": "<i>rbm</i> & co"})[0].startswith("<i>rbm</i> & co: h1's")  # as given
    fig = pretraining_figure(table, labels={"a": "rbm"})
    assert not fig.layout.annotations and fig.layout.margin.t == MARGIN["t"]  # the words are the page's, above it


def _table(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["run", "layer", "epoch", "metric", "value"])


def test_hand_made_tables_linear_axis_mse_probe_and_a_phase_in_progress():
    table = _table([("a", "h1", 0, "reconstruction_error", 0.5), ("a", "h1", 1, "reconstruction_error", 0.4),
                    ("a", "h1", 2, "reconstruction_error", 0.45), ("a", "h1", 2, "probe_mse", 0.125),
                    ("b", "h1", 0, "reconstruction_error", 0.3), ("b", "h1", 1, "reconstruction_error", 0.6),
                    ("a", "h1", 2, "free_energy", -3.0)])
    fig = _valid(pretraining_figure(table))
    assert fig.layout.yaxis.type != "log"  # 0.3 to 0.6: less than a decade
    assert fig.layout.yaxis2.title.text == "probe MSE"
    assert pretraining_words(table) == ["a: h1's reconstruction error fell from 0.5 to 0.45 in 2 epochs; "
                                        "the probe's MSE is 0.125 from h1's code",
                                        "b: h1's reconstruction error rose from 0.3 to 0.6 in 1 epoch"]
    assert not any("free" in t.name for t in fig.data)  # free energy is not this chart's
    only_b = pretraining_figure(table, runs=["b"])
    assert {t.legendgroup for t in only_b.data} == {"b"}


@pytest.mark.parametrize("table", [None, _table([]), _table([("a", "h1", 0, "free_energy", -1.0)])])
def test_without_reconstruction_or_probe_rows_it_waits(table):
    assert _waiting(pretraining_figure(table))
    assert _waiting(pretraining_figure(_table([("a", "h1", 0, "reconstruction_error", 1.0)]), runs=["b"]))


# ---------------------------------------------------------------------------------- filters and fantasies


def test_tiles_are_laid_out_row_by_row_with_nan_lines_between():
    images = np.arange(5 * 2 * 3, dtype=float).reshape(5, 2, 3)
    big, index = tiled(images)
    assert big.shape == (2 * 3 - 1, 3 * 4 - 1)  # 3 columns, 2 rows of 2x3 tiles, one NaN line between
    np.testing.assert_array_equal(big[3:5, 4:7], images[4])  # tile 4: row 1, column 1
    assert np.isnan(big[2]).all() and np.isnan(big[:, 3]).all() and np.isnan(big[:, 7]).all()
    assert np.isnan(big[3:5, 8:]).all() and (index[3:5, 8:] == -1).all()  # the empty slot after the last tile
    assert (index[3:5, 4:7] == 4).all()


def test_filters_one_heatmap_per_run_tile_i_is_unit_i(pretrained):
    weights = pretrained.first_layer_weights()
    fig = _valid(filters_figure(weights, labels={"a": "rbm", "b": "autoencoder"}, max_units=20))
    assert [t.type for t in fig.data] == ["heatmap", "heatmap"]
    for trace, run in zip(fig.data, ("a", "b")):
        z, custom = np.asarray(trace.z, dtype=float), np.asarray(trace.customdata, dtype=float)
        assert z.shape == (4 * 9 - 1, 5 * 9 - 1)  # 20 units: 4 rows of 5 tiles of 8x8
        for unit in (0, 7, 19):
            top, left = (unit // 5) * 9, (unit % 5) * 9
            expected = weights[run][unit].reshape(8, 8)
            np.testing.assert_allclose(custom[top:top + 8, left:left + 8, 1], expected, rtol=1e-6)
            np.testing.assert_allclose(z[top:top + 8, left:left + 8], expected / np.abs(expected).max(), rtol=1e-6)
            assert (custom[top:top + 8, left:left + 8, 0] == unit).all()
        assert np.isnan(z[8]).all() and np.isnan(z[:, 8]).all()
        assert np.nanmax(np.abs(z)) == pytest.approx(1.0) and (trace.zmin, trace.zmax) == (-1, 1)
    words = " ".join(filters_words(weights, max_units=20))
    assert "one 8x8 image per unit (the first 20 of 32 units)" in words
    assert "standardized pixels unless standardize is false" in words
    assert "(its 32 units)" in filters_words(weights)[0]
    assert [a.text for a in fig.layout.annotations] == ["<b>rbm</b>", "<b>autoencoder</b>"]  # only the run labels


def test_filters_of_a_2d_dataset_are_arrows_to_each_units_weights():
    weights = {"a": np.array([[1.0, -2.0], [0.5, 0.25]], dtype=np.float32)}
    fig = _valid(filters_figure(weights, image_shape=None))
    (trace,) = fig.data
    assert list(trace.x[:2]) == [0, 1.0] and list(trace.y[:2]) == [0, -2.0] and np.isnan(trace.x[2])
    assert list(trace.x[3:5]) == [0, 0.5] and list(trace.y[3:5]) == [0, 0.25]
    assert filters_words(weights, image_shape=None)[0].startswith("h1's weights as arrows in the input plane "
                                                                 "(its 2 units)")
    assert filters_words({"a": np.ones((4, 3))}) == ["h1's weights, one row per unit (its 4 units), input by input."]
    ragged = _valid(filters_figure({"a": np.ones((4, 3))}, image_shape=(8, 8)))  # not 8x8 images: rows
    np.testing.assert_array_equal(ragged.data[0].z, np.ones((4, 3)))


def test_fantasies_are_the_samples_in_grey(pretrained):
    samples = {run: s.numpy() for run, s in pretrained.pretraining.fantasies().items()}
    assert set(samples) == {"a"}  # only the RBM run dreams
    fig = _valid(fantasies_figure(samples, labels={"a": "rbm"}))
    (trace,) = fig.data
    z = np.asarray(trace.z, dtype=float)
    assert z.shape == (4 * 9 - 1, 4 * 9 - 1)  # 16 samples in a 4x4 grid
    np.testing.assert_allclose(z[9:17, 18:26], samples["a"][6].reshape(8, 8), rtol=1e-6)  # sample 6: row 1, col 2
    assert (trace.zmin, trace.zmax) == pytest.approx((samples["a"].min(), samples["a"].max()))
    (words,) = fantasies_words(samples)
    assert words.startswith(f"16 samples the RBM dreams up: {FANTASY_STEPS} Gibbs steps")


def test_without_weights_or_samples_they_wait():
    assert not filters_figure({}).data and not fantasies_figure({}).data
    assert not fantasies_figure({"a": np.zeros((0, 64))}).data
    assert filters_words({}) == fantasies_words({}) == fantasies_words({"a": np.zeros((0, 64))}) == []


def test_where_fine_tuning_starts_plots_each_runs_step_zero_spread_and_gradient():
    """The step-0 chart: per run, per hidden layer, act_std and grad_preact_rms exactly as the layers table has
    them at step 0 (after pre-training), not at the latest step; a random run beside a pre-trained one."""
    config = parse_group({**RUN, "pretrain": "none", "steps": "20", "probe_every": "5"})
    result = engine.train(config)
    layers = result.layers
    fig = _valid(start_depth_figure(layers, labels={"a": "random", "b": "autoencoder"}))
    lines = [t for t in fig.data if t.mode == "lines+markers"]
    assert {t.name for t in lines} == {"random", "autoencoder"}
    for trace in lines:
        run = "a" if trace.name == "random" else "b"
        stat = "act_std" if trace.yaxis == "y" else "grad_preact_rms"
        at_zero = layers[(layers.run == run) & (layers.step == 0) & (layers.stat == stat)].set_index("layer").value
        assert list(trace.customdata) == [0] * len(trace.x)
        np.testing.assert_allclose(trace.y, at_zero[list(trace.x)].to_numpy())
        latest = layers[(layers.run == run) & (layers.step == 20) & (layers.stat == stat)].set_index("layer").value
        assert not np.allclose(trace.y, latest[list(trace.x)].to_numpy())  # not the latest step
    for axis in (fig.layout.yaxis, fig.layout.yaxis2):  # at least two ticks, even within one decade
        assert axis.type == "log" and len(axis.tickvals) >= 2
