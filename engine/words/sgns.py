"""Negative sampling: the loss of one batch of examples, its gradient by hand, and the SGD update.

An example is an input vector v (skip-gram: the centre word's input vector; CBOW: the mean of the context
words' input vectors), the output vector u+ of the word to predict and the output vectors u1..uk of k
negatives drawn from the noise distribution. Its loss is

    -log sigmoid(u+ . v) - sum_j log sigmoid(-uj . v)

so training pulls the true pair's logit up and pushes each negative's logit down. The gradient, written out
(tests/test_words_sgns.py checks it against finite differences): with g+ = sigmoid(u+ . v) - 1 and
gj = sigmoid(uj . v), dL/dv = g+ u+ + sum_j gj uj, dL/du+ = g+ v, dL/duj = gj v. A negative that happens to be
the word to predict is left out of its example (mask 0), as word2vec does.

The update is plain SGD on the rows used, summed over the batch with `index_add_` (deterministic on the CPU).
CBOW, as word2vec's C code does with its mean, hands dL/dv whole to each context word's input vector.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch.nn import functional


@dataclass
class Logits:
    positive: torch.Tensor  # [n]
    negative: torch.Tensor  # [n, k]
    mask: torch.Tensor  # [n, k], 1 where the negative counts


def logits(v: torch.Tensor, u_pos: torch.Tensor, u_neg: torch.Tensor, target: torch.Tensor,
           negatives: torch.Tensor) -> Logits:
    positive = (u_pos * v).sum(-1)
    negative = torch.bmm(u_neg, v.unsqueeze(-1)).squeeze(-1)
    return Logits(positive, negative, (negatives != target.unsqueeze(-1)).to(v.dtype))


def loss_of(scores: Logits) -> torch.Tensor:
    """Per example, -log sigmoid(positive) - sum of -log sigmoid(-negative) over the counted negatives."""
    return -functional.logsigmoid(scores.positive) - (functional.logsigmoid(-scores.negative) * scores.mask).sum(-1)


def gradients(v: torch.Tensor, u_pos: torch.Tensor, u_neg: torch.Tensor,
              scores: Logits) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(dL/dv [n, d], dL/du+ [n, d], dL/duj [n, k, d]) of the per-example losses."""
    g_pos = torch.sigmoid(scores.positive) - 1
    g_neg = torch.sigmoid(scores.negative) * scores.mask
    grad_v = g_pos.unsqueeze(-1) * u_pos + torch.bmm(g_neg.unsqueeze(1), u_neg).squeeze(1)
    return grad_v, g_pos.unsqueeze(-1) * v, g_neg.unsqueeze(-1) * v.unsqueeze(1)


@dataclass
class StepResult:
    loss: torch.Tensor  # [n] per example, before the update
    scores: Logits


def sgd_step(w_in: torch.Tensor, w_out: torch.Tensor, inputs: torch.Tensor, input_mask: torch.Tensor,
             target: torch.Tensor, negatives: torch.Tensor, lr: float) -> StepResult:
    """One update on a batch: `inputs` [n, c] input word ids (c = 1 for skip-gram, the context for CBOW, with
    `input_mask` [n, c] 1 where a context slot holds a word), `target` [n], `negatives` [n, k]."""
    counts = input_mask.sum(-1, keepdim=True).clamp_(min=1)
    v = (w_in[inputs] * input_mask.unsqueeze(-1)).sum(1) / counts
    u_pos, u_neg = w_out[target], w_out[negatives]
    scores = logits(v, u_pos, u_neg, target, negatives)
    loss = loss_of(scores)
    grad_v, grad_pos, grad_neg = gradients(v, u_pos, u_neg, scores)
    d = w_in.shape[1]
    w_out.index_add_(0, target, grad_pos, alpha=-lr)
    w_out.index_add_(0, negatives.reshape(-1), grad_neg.reshape(-1, d), alpha=-lr)
    spread = (grad_v.unsqueeze(1) * input_mask.unsqueeze(-1)).reshape(-1, d)
    w_in.index_add_(0, inputs.reshape(-1), spread, alpha=-lr)
    return StepResult(loss, scores)
