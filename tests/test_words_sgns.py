"""Negative sampling by hand: the gradient against finite differences and autograd, the noise distribution,
the subsampling rate, determinism and lock-step (engine/words/)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from engine.words.api import train_words
from engine.words.batches import CorpusOrder
from engine.words.sgns import gradients, logits, loss_of, sgd_step
from engine.words.vocab import NOISE_POWER, NoiseSampler, Vocab


def _example(n=3, k=4, d=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    v = torch.randn(n, d, generator=g, dtype=torch.float64)
    u_pos = torch.randn(n, d, generator=g, dtype=torch.float64)
    u_neg = torch.randn(n, k, d, generator=g, dtype=torch.float64)
    target = torch.tensor([1, 2, 3])
    negatives = torch.tensor([[5, 6, 1, 7], [2, 8, 9, 4], [4, 5, 6, 7]])  # one negative per row 0/1 is the target
    return v, u_pos, u_neg, target, negatives


def _total_loss(v, u_pos, u_neg, target, negatives) -> float:
    return float(loss_of(logits(v, u_pos, u_neg, target, negatives)).sum())


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_gradient_matches_finite_differences(seed):
    v, u_pos, u_neg, target, negatives = _example(seed=seed)
    analytic = gradients(v, u_pos, u_neg, logits(v, u_pos, u_neg, target, negatives))
    eps = 1e-6
    for tensor, grad in zip((v, u_pos, u_neg), analytic):
        numeric = torch.zeros_like(tensor)
        flat, out = tensor.view(-1), numeric.view(-1)
        for i in range(flat.numel()):
            old = flat[i].item()
            flat[i] = old + eps
            up = _total_loss(v, u_pos, u_neg, target, negatives)
            flat[i] = old - eps
            down = _total_loss(v, u_pos, u_neg, target, negatives)
            flat[i] = old
            out[i] = (up - down) / (2 * eps)
        assert torch.allclose(grad, numeric, atol=1e-7, rtol=1e-6), (grad - numeric).abs().max()


def test_a_negative_equal_to_the_target_is_left_out():
    v, u_pos, u_neg, target, negatives = _example()
    _, _, grad_neg = gradients(v, u_pos, u_neg, logits(v, u_pos, u_neg, target, negatives))
    assert torch.all(grad_neg[0, 2] == 0) and torch.all(grad_neg[1, 0] == 0)
    assert grad_neg[0, 0].abs().sum() > 0


def test_a_skipgram_step_is_sgd_on_the_summed_loss():
    """The update, duplicates in the batch included, is -lr times autograd's gradient of the batch's loss."""
    g = torch.Generator().manual_seed(3)
    w_in = torch.randn(10, 4, generator=g, dtype=torch.float64)
    w_out = torch.randn(10, 4, generator=g, dtype=torch.float64)
    inputs = torch.tensor([[1], [1], [2], [3]])
    target = torch.tensor([4, 5, 4, 1])
    negatives = torch.tensor([[6, 7], [4, 8], [9, 9], [2, 3]])
    ref_in, ref_out = w_in.clone().requires_grad_(), w_out.clone().requires_grad_()
    v = ref_in[inputs[:, 0]]
    loss_of(logits(v, ref_out[target], ref_out[negatives], target, negatives)).sum().backward()
    lr = 0.1
    sgd_step(w_in, w_out, inputs, torch.ones(4, 1, dtype=torch.float64), target, negatives, lr)
    assert torch.allclose(w_in, ref_in.detach() - lr * ref_in.grad, atol=1e-12)
    assert torch.allclose(w_out, ref_out.detach() - lr * ref_out.grad, atol=1e-12)


def test_noise_draws_follow_the_unigram_distribution_to_the_075():
    counts = np.array([5000, 1000, 200, 40, 8, 1])
    vocab = Vocab(tuple("abcdef"), counts)
    expected = counts ** NOISE_POWER / (counts ** NOISE_POWER).sum()
    assert torch.allclose(vocab.noise_distribution(), torch.from_numpy(expected))
    draws = NoiseSampler(vocab).draw((400_000,), torch.Generator().manual_seed(0))
    observed = np.bincount(draws.numpy(), minlength=6) / 400_000
    sigma = np.sqrt(expected * (1 - expected) / 400_000)
    assert np.all(np.abs(observed - expected) < 5 * sigma), (observed, expected)
    assert observed[0] < counts[0] / counts.sum() - 0.05  # the most frequent word is drawn below its share


def test_subsampling_keeps_a_word_at_the_documented_rate():
    """A word of frequency f survives with probability min(1, sqrt(t/f) + t/f)."""
    rng = np.random.default_rng(0)
    ids = rng.choice(4, size=200_000, p=[0.2, 0.05, 0.0005, 0.7495])
    vocab = Vocab(("x", "y", "z", "w"), np.bincount(ids, minlength=4))
    t = 1e-3
    order = CorpusOrder(vocab, ids, np.zeros_like(ids), window=2, subsample=t, epochs=3, seed=0)
    kept = np.concatenate([np.bincount(ids[k], minlength=4) for k in order.kept]) .reshape(3, 4).sum(0)
    seen = 3 * vocab.counts
    f = vocab.counts / vocab.counts.sum()
    rate = np.minimum(1, np.sqrt(t / f) + t / f)
    assert rate[2] == 1 and kept[2] == seen[2]  # rarer than t: always kept
    for i in (0, 1, 3):
        sigma = math.sqrt(rate[i] * (1 - rate[i]) / seen[i])
        assert abs(kept[i] / seen[i] - rate[i]) < 5 * sigma, (i, kept[i] / seen[i], rate[i])
    assert kept[3] / seen[3] < 0.05  # a word that is 75% of the text is nearly all dropped
    assert CorpusOrder(vocab, ids, np.zeros_like(ids), 2, 0.0, 1, 0).kept[0].size == ids.size  # 0: off


def test_windows_stay_inside_their_document():
    vocab = Vocab(("a", "b"), np.array([3, 3]))
    ids, docs = np.array([0, 1, 0, 1, 0, 1]), np.array([0, 0, 0, 1, 1, 1])
    order = CorpusOrder(vocab, ids, docs, window=5, subsample=0, epochs=1, seed=0)
    batch = order.batch(0)
    positions = np.arange(6)
    for row in range(6):
        offsets = np.concatenate([np.arange(-5, 0), np.arange(1, 6)])
        for col in np.flatnonzero(batch.mask[row].numpy()):
            other = positions[row] + offsets[col]
            assert docs[other] == docs[row]


def test_same_config_same_numbers_and_a_model_alone_equals_it_in_a_pair():
    alone = train_words({"tokens": 3000, "epochs": 2, "seed": 3})
    again = train_words({"tokens": 3000, "epochs": 2, "seed": 3})
    pair = train_words({"tokens": 3000, "epochs": 2, "seed": 3, "b.model": "cbow", "b.dim": 12})
    assert alone.scalars.equals(again.scalars)
    assert torch.equal(alone.trainer.models["a"].w_in, pair.trainer.models["a"].w_in)
    ours = pair.scalars[pair.scalars["run"] == "a"].reset_index(drop=True)
    assert ours.equals(alone.scalars.reset_index(drop=True))
    assert not torch.equal(pair.trainer.models["b"].w_in[:, :12], alone.trainer.models["a"].w_in[:, :12])


def test_the_map_is_aligned_to_the_last_frame():
    from engine.words.projection import align, pca_2d

    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(40, 10)) * np.array([5, 3, 1, 1, 1, 1, 1, 1, 1, 1])
    coords, shown = pca_2d(vectors)
    assert 0 < shown < 1
    turned = coords @ np.array([[0, -1], [1, 0]]) * np.array([1, -1])  # a spin and a flip
    assert np.allclose(align(turned, coords), coords)
    assert np.allclose(align(coords, None), coords)
