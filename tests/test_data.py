"""The eight datasets and the batch sampler: deterministic from the seed, right shapes, honest splits."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from engine.training.data import BatchSampler, make_dataset
from engine.vocabulary.config import RunConfig

TWO_CLASS = ["spiral", "circles", "xor", "gaussians", "moons", "checkerboard"]
ALL = [*TWO_CLASS, "sine", "digits"]
DIGITS_COUNT = 1797


def data(**keys):
    return make_dataset(RunConfig(**keys))


def arrays(ds) -> list[np.ndarray]:
    return [ds.x_train.numpy(), ds.y_train.numpy(), ds.x_val.numpy(), ds.y_val.numpy(), ds.raw_train, ds.raw_val,
            ds.mean, ds.std]


def sorted_rows(a: np.ndarray) -> np.ndarray:
    return a[np.lexsort(a.T[::-1])]


@pytest.mark.parametrize("name", ALL)
def test_same_seed_same_arrays(name):
    first, second = data(dataset=name, seed=7, samples=300), data(dataset=name, seed=7, samples=300)
    for a, b in zip(arrays(first), arrays(second)):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", ALL)
def test_different_seed_different_arrays(name):
    first, second = data(dataset=name, seed=1, samples=300), data(dataset=name, seed=2, samples=300)
    assert not np.array_equal(first.x_train.numpy(), second.x_train.numpy())
    assert not np.array_equal(first.x_val.numpy(), second.x_val.numpy())


@pytest.mark.parametrize("name", TWO_CLASS)
def test_two_class_shapes(name):
    ds = data(dataset=name, samples=500)
    assert ds.x_train.dtype == torch.float32 and ds.x_val.dtype == torch.float32
    assert ds.y_train.dtype == torch.int64 and ds.y_val.dtype == torch.int64
    assert ds.x_train.shape[1] == ds.x_val.shape[1] == 2
    assert ds.y_train.shape == (len(ds.x_train),) and ds.y_val.shape == (len(ds.x_val),)
    assert len(ds.x_train) + len(ds.x_val) == 500
    assert (ds.n_classes, ds.n_inputs, ds.n_outputs) == (2, 2, 2)
    assert set(torch.cat([ds.y_train, ds.y_val]).tolist()) == {0, 1}
    assert ds.raw_train.shape == (len(ds.x_train), 2) and ds.raw_val.shape == (len(ds.x_val), 2)
    assert ds.chance_loss() == pytest.approx(math.log(2))
    assert torch.isfinite(ds.x_train).all() and torch.isfinite(ds.x_val).all()


def test_sine_is_one_dimensional_regression():
    ds = data(dataset="sine", samples=400)
    assert ds.x_train.shape == (len(ds.x_train), 1) and ds.x_val.shape == (len(ds.x_val), 1)
    assert ds.y_train.dtype == torch.float32 and ds.y_train.shape == (len(ds.x_train),)
    assert (ds.n_classes, ds.n_inputs, ds.n_outputs) == (0, 1, 1)
    assert len(ds.x_train) + len(ds.x_val) == 400
    assert ds.chance_loss() == pytest.approx(float(ds.y_val.var(unbiased=False)))
    assert math.isnan(ds.chance_accuracy())


@pytest.mark.parametrize("samples", [50, 1000, 50_000])
def test_digits_is_scikit_learns_bundled_copy(samples):
    from sklearn.datasets import load_digits

    ds = data(dataset="digits", samples=samples)  # `samples` is ignored
    assert len(ds.x_train) + len(ds.x_val) == DIGITS_COUNT
    assert ds.x_train.shape[1] == 64 and (ds.n_classes, ds.n_inputs, ds.n_outputs) == (10, 64, 10)
    assert set(torch.cat([ds.y_train, ds.y_val]).tolist()) == set(range(10))
    digits = load_digits()
    np.testing.assert_array_equal(sorted_rows(np.vstack([ds.raw_train, ds.raw_val])), sorted_rows(digits.data))
    assert ds.chance_loss() == pytest.approx(math.log(10))


@pytest.mark.parametrize("name", ["spiral", "sine", "digits"])
@pytest.mark.parametrize("samples", [50, 777, 5000])
@pytest.mark.parametrize("val_fraction", [0.05, 0.3, 0.9])
def test_validation_split_follows_val_fraction(name, samples, val_fraction):
    ds = data(dataset=name, samples=samples, val_fraction=val_fraction)
    total = DIGITS_COUNT if name == "digits" else samples
    assert len(ds.x_train) + len(ds.x_val) == total
    assert abs(len(ds.x_val) - val_fraction * total) <= 1
    assert len(ds.x_val) >= 1 and len(ds.x_train) >= 1
    assert len(ds.y_val) == len(ds.x_val) and len(ds.y_train) == len(ds.x_train)


@pytest.mark.parametrize("name", ALL)
def test_standardize_uses_training_statistics_only(name):
    ds = data(dataset=name, samples=2000, val_fraction=0.3, seed=4)
    x = ds.x_train.numpy().astype(np.float64)
    varying = ds.raw_train.std(axis=0) > 1e-8  # digits has constant pixels; those stay at 0
    assert varying.any()
    np.testing.assert_allclose(x.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(x.std(axis=0)[varying], 1, atol=1e-4)
    np.testing.assert_array_equal(x[:, ~varying], 0)
    # The statistics are the training split's, not the whole data's, and the val split uses them too.
    np.testing.assert_allclose(ds.mean, ds.raw_train.mean(axis=0))
    everything = np.vstack([ds.raw_train, ds.raw_val])
    assert not np.allclose(ds.mean, everything.mean(axis=0), rtol=0, atol=1e-12)
    expected_val = ((ds.raw_val - ds.mean) / ds.std).astype(np.float32)
    np.testing.assert_allclose(ds.x_val.numpy(), expected_val, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("name", ["spiral", "sine", "digits"])
def test_standardize_false_keeps_raw_inputs(name):
    ds = data(dataset=name, standardize=False, samples=300)
    np.testing.assert_array_equal(ds.x_train.numpy(), ds.raw_train.astype(np.float32))
    np.testing.assert_array_equal(ds.x_val.numpy(), ds.raw_val.astype(np.float32))
    np.testing.assert_array_equal(ds.mean, 0)
    np.testing.assert_array_equal(ds.std, 1)


@pytest.mark.parametrize("name", TWO_CLASS)
def test_two_class_sets_are_roughly_balanced(name):
    ds = data(dataset=name, samples=2000, seed=11)
    for labels in (ds.y_train, ds.y_val, torch.cat([ds.y_train, ds.y_val])):
        share = labels.float().mean().item()
        assert 0.4 < share < 0.6, (name, share)


def test_noise_zero_gives_exact_shapes():
    for name in ALL:
        ds = data(dataset=name, noise=0.0, samples=500)
        assert torch.isfinite(ds.x_train).all() and torch.isfinite(ds.x_val).all()
        assert torch.isfinite(ds.y_train.float()).all()

    def raw(name):
        ds = data(dataset=name, noise=0.0, samples=1000)
        x = np.vstack([ds.raw_train, ds.raw_val])
        y = np.concatenate([ds.y_train.numpy(), ds.y_val.numpy()])
        return x, y

    x, y = raw("sine")
    np.testing.assert_allclose(y, np.sin(2 * x[:, 0]).astype(np.float32), rtol=0, atol=1e-6)
    assert np.all(np.abs(x) <= math.pi)

    x, y = raw("circles")
    radius = np.hypot(x[:, 0], x[:, 1])
    assert np.all(radius[y == 0] <= 2 + 1e-9) and np.all((radius[y == 1] >= 3.5 - 1e-9) & (radius[y == 1] <= 5 + 1e-9))

    x, y = raw("xor")
    assert np.all(np.abs(x) >= 0.3) and np.all(np.abs(x) <= 5.3 + 1e-9)
    np.testing.assert_array_equal(y, (x[:, 0] * x[:, 1] > 0).astype(np.int64))

    x, y = raw("checkerboard")
    np.testing.assert_array_equal(y, ((np.floor(x[:, 0] / 2) + np.floor(x[:, 1] / 2)) % 2).astype(np.int64))

    x, y = raw("moons")
    upper = np.hypot(x[:, 0], x[:, 1])
    lower = np.hypot(x[:, 0] - 1, x[:, 1] - 0.5)
    np.testing.assert_allclose(upper[y == 0], 1, atol=1e-9)
    np.testing.assert_allclose(lower[y == 1], 1, atol=1e-9)

    x, _ = raw("spiral")
    assert np.all(np.hypot(x[:, 0], x[:, 1]) <= 5 + 1e-9)


def test_noise_changes_the_points():
    quiet, noisy = data(dataset="moons", noise=0.0, seed=3), data(dataset="moons", noise=0.5, seed=3)
    assert not np.allclose(quiet.raw_train, noisy.raw_train)


# ---------------------------------------------------------------- BatchSampler


def batches(n: int, batch_size: int, seed: int, count: int) -> list[list[int]]:
    sampler = BatchSampler(n, batch_size, seed)
    return [sampler.next().tolist() for _ in range(count)]


def test_sampler_is_deterministic_from_the_seed():
    assert batches(700, 32, seed=5, count=60) == batches(700, 32, seed=5, count=60)
    assert batches(700, 32, seed=5, count=60) != batches(700, 32, seed=6, count=60)


@pytest.mark.parametrize(("n", "batch_size"), [(96, 32), (700, 7), (64, 64), (10, 1)])
def test_sampler_covers_every_index_once_per_epoch(n, batch_size):
    per_epoch = n // batch_size
    sequence = batches(n, batch_size, seed=0, count=per_epoch * 4)
    assert all(len(b) == batch_size for b in sequence)
    for epoch in range(4):
        seen = [i for b in sequence[epoch * per_epoch : (epoch + 1) * per_epoch] for i in b]
        assert sorted(seen) == list(range(n)), epoch
    assert sequence[:per_epoch] != sequence[per_epoch : 2 * per_epoch]


def test_sampler_with_a_partial_last_batch_never_repeats_an_index_within_an_epoch():
    n, batch_size = 100, 32  # three full batches per epoch; the sampler keeps every batch the same size
    per_epoch = n // batch_size
    sequence = batches(n, batch_size, seed=1, count=per_epoch * 20)
    assert all(len(b) == batch_size for b in sequence)
    for epoch in range(20):
        seen = [i for b in sequence[epoch * per_epoch : (epoch + 1) * per_epoch] for i in b]
        assert len(seen) == len(set(seen)) and all(0 <= i < n for i in seen)
    assert {i for b in sequence for i in b} == set(range(n))


def test_sampler_batch_larger_than_the_data_is_the_whole_split():
    for batch in batches(50, 4096, seed=2, count=3):
        assert sorted(batch) == list(range(50))


def test_sampler_for_a_real_training_split():
    ds = data(dataset="spiral", samples=1000, val_fraction=0.3)
    sampler = BatchSampler(len(ds.x_train), 32, seed=0)
    batch = sampler.next()
    assert batch.dtype == torch.int64 and len(batch) == 32
    assert ds.x_train[batch].shape == (32, 2)
