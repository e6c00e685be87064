"""One training example, taken apart (the wevi-style view): its input vector, the logit of the word to predict
and of each negative, the gradient coefficient of each, and what one SGD step on this example alone does to
every logit. Plain numpy on a copy of the vectors: looking never changes training.

The examples are those training reads first: the windows of the first steps, in order (engine/words/batches.py);
skip-gram's is (centre word -> one context word), CBOW's (the window's words -> the centre word). Negatives
are drawn from the run's noise distribution with a generator seeded by the example's number, so the same
example shows the same negatives every time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

EXAMPLES = 200


@dataclass(frozen=True)
class Example:
    inputs: tuple[int, ...]  # word ids whose input vectors are averaged (skip-gram: the centre word alone)
    target: int  # the word to predict


@dataclass(frozen=True)
class Explained:
    inputs: tuple[str, ...]
    v: np.ndarray  # the input vector (mean of the inputs' vectors)
    v_after: np.ndarray
    rows: list[dict]  # word, role, logit, probability, coefficient, logit_after, push


def first_examples(trainer, model: str, count: int = EXAMPLES) -> list[Example]:
    """The first `count` examples a model of this kind trains on."""
    out: list[Example] = []
    step = 0
    while len(out) < count and step < trainer.total_steps:
        window = trainer.order.batch(step)
        for centre, contexts, mask in zip(window.centres.tolist(), window.contexts.tolist(), window.mask.tolist()):
            words = [c for c, m in zip(contexts, mask) if m]
            if model == "skipgram":
                out.extend(Example((centre,), context) for context in words)
            elif words:
                out.append(Example(tuple(words), centre))
        step += 1
    return out[:count]


def draw_negatives(noise: np.ndarray, k: int, number: int) -> np.ndarray:
    return np.random.default_rng([number, 16]).choice(len(noise), size=k, p=noise)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


def explain(w_in: np.ndarray, w_out: np.ndarray, words: tuple[str, ...], example: Example, negatives: np.ndarray,
            lr: float) -> Explained:
    """The example on these vectors, and one SGD step on it alone (engine/words/sgns.py's rule)."""
    v = w_in[list(example.inputs)].mean(0)
    targets = np.array([example.target, *negatives])
    labels = np.array([1.0] + [0.0] * len(negatives))
    counted = np.array([True] + [n != example.target for n in negatives])
    u = w_out[targets]
    logit = u @ v
    coefficient = (_sigmoid(logit) - labels) * counted  # dL/dlogit
    grad_v = coefficient @ u
    u_after = w_out.copy()
    np.add.at(u_after, targets, -lr * coefficient[:, None] * v[None, :])
    v_after = v - lr * grad_v  # each input word moves by the whole of it (word2vec's CBOW rule)
    logit_after = u_after[targets] @ v_after
    rows = []
    for i, word_id in enumerate(targets):
        role = "to predict" if i == 0 else f"negative {i}"
        push = ("not counted: it is the word to predict" if not counted[i]
                else "pulled up (toward the input)" if coefficient[i] < 0 else "pushed down (away from the input)")
        rows.append({"word": words[word_id], "role": role, "logit": float(logit[i]),
                     "probability": float(_sigmoid(logit[i])), "coefficient": float(coefficient[i]),
                     "logit_after": float(logit_after[i]), "push": push})
    return Explained(tuple(words[i] for i in example.inputs), v, v_after, rows)
