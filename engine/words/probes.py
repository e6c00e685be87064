"""What the vectors have learned, measured on the input vectors at probe steps.

- Analogies (3CosAdd, as gensim's `evaluate_word_analogies`): for "a is to b as c is to d", the nearest word by
  cosine to unit(b) - unit(a) + unit(c), other than a, b and c, must be d. Only questions whose four words all
  have vectors are asked; accuracy per relation and over all.
- WordSim-353: Spearman correlation between the cosine of each pair with vectors and the human score.
- Histograms at fixed bins, so frames compare: input-vector norms, and the step's logits of true pairs and of
  negatives (are the negatives being pushed below 0, the true pairs above?).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np
import torch
from scipy.stats import spearmanr

from engine.words.corpora import Analogy

LOGIT_EDGES = np.linspace(-12, 12, 49)
NORM_EDGES = np.linspace(0, 8, 41)


@dataclass(frozen=True)
class Questions:
    """Analogy questions as word ids, grouped by relation, for one vocabulary."""

    relations: tuple[str, ...]
    ids: torch.Tensor  # [q, 4] a, b, c, d
    relation_of: np.ndarray  # [q] index into relations
    asked: int  # questions in the vocabulary
    total: int  # questions of the corpus

    @classmethod
    def build(cls, analogies: tuple[Analogy, ...], index: dict[str, int]) -> Questions:
        known = [q for q in analogies if all(w in index for w in (q.a, q.b, q.c, q.d))]
        relations = tuple(dict.fromkeys(q.relation for q in known))
        ids = torch.tensor([[index[q.a], index[q.b], index[q.c], index[q.d]] for q in known],
                           dtype=torch.int64).reshape(-1, 4)
        relation_of = np.array([relations.index(q.relation) for q in known], dtype=np.int64)
        return cls(relations, ids, relation_of, len(known), len(analogies))


def answers(unit: torch.Tensor, questions: Questions, chunk: int = 1024) -> torch.Tensor:
    """The word id each question is answered with (3CosAdd, excluding the three question words)."""
    out = []
    for start in range(0, len(questions.ids), chunk):
        q = questions.ids[start:start + chunk]
        target = unit[q[:, 1]] - unit[q[:, 0]] + unit[q[:, 2]]
        scores = target @ unit.T
        scores.scatter_(1, q[:, :3], -torch.inf)
        out.append(scores.argmax(1))
    return torch.cat(out) if out else torch.zeros(0, dtype=torch.int64)


def analogy_accuracy(unit: torch.Tensor, questions: Questions) -> dict[str, float]:
    """{"all": share correct, relation: share correct} over the questions asked; empty when none is asked."""
    if not questions.asked:
        return {}
    correct = (answers(unit, questions) == questions.ids[:, 3]).numpy()
    by_relation: dict[str, list[bool]] = defaultdict(list)
    for rel, ok in zip(questions.relation_of, correct):
        by_relation[questions.relations[rel]].append(bool(ok))
    return {"all": float(correct.mean()), **{r: float(np.mean(v)) for r, v in by_relation.items()}}


def wordsim_spearman(unit: torch.Tensor, pairs: tuple[tuple[str, str, float], ...],
                     index: dict[str, int]) -> tuple[float, int]:
    """(Spearman rho, pairs used); NaN with fewer than 3 pairs in the vocabulary."""
    known = [(index[a], index[b], s) for a, b, s in pairs if a in index and b in index]
    if len(known) < 3:
        return float("nan"), len(known)
    a, b, human = (np.array(col) for col in zip(*known))
    cosine = (unit[torch.from_numpy(a)] * unit[torch.from_numpy(b)]).sum(1).numpy()
    return float(spearmanr(cosine, human).statistic), len(known)


def nearest(unit: torch.Tensor, word_ids: list[int], k: int) -> list[list[tuple[int, float]]]:
    """For each word, its k nearest other words by cosine, with the cosine."""
    if not word_ids:
        return []
    scores = unit[torch.tensor(word_ids)] @ unit.T
    scores[torch.arange(len(word_ids)), torch.tensor(word_ids)] = -torch.inf
    values, ids = scores.topk(min(k, unit.shape[0] - 1), dim=1)
    return [list(zip(row_ids.tolist(), row_values.tolist())) for row_ids, row_values in zip(ids, values)]


def histogram(values: torch.Tensor, edges: np.ndarray) -> np.ndarray:
    """Counts in fixed bins; values beyond the edges land in the edge bins."""
    clipped = np.clip(values.detach().reshape(-1).numpy(), edges[0], edges[-1])
    return np.histogram(clipped, bins=edges)[0]


def neighbours_of(vectors: np.ndarray, words: tuple[str, ...], chosen: list[str], k: int) -> dict[str, list]:
    """For each chosen word in the vocabulary, its k nearest words by cosine of `vectors` (numpy, [V, d])."""
    index = {w: i for i, w in enumerate(words)}
    known = [w for w in chosen if w in index]
    weights = torch.from_numpy(vectors)
    unit = weights / weights.norm(dim=1, keepdim=True).clamp(min=1e-12)
    rows = nearest(unit, [index[w] for w in known], k)
    return {w: [(words[i], cos) for i, cos in row] for w, row in zip(known, rows)}
