"""Training one or two word-vector models in lock-step on the same corpus order, with probes.

`WordsTrainer(group).advance(n)` trains n steps (each model one SGD step on the same windows); at about PROBES
evenly spaced steps (step 0, before any update, and the last, after it) it measures each model: the mean loss
of the steps since the last probe, the learning rate, analogy accuracy per relation, WordSim-353's Spearman
correlation where the corpus has it, and histograms of the input-vector norms and of the last step's logits.
A model alone gives the same numbers as the same model beside another: each has its own generator.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pandas as pd
import torch

from engine.words import probes
from engine.words.batches import CorpusOrder
from engine.words.config import WordsGroup
from engine.words.corpora import Corpus, load_corpus
from engine.words.model import WordModel
from engine.words.sgns import StepResult
from engine.words.vocab import NoiseSampler, Vocab

PROBES = 60
# Scalars measured on the training text (split "train"); the rest are measured on held-out questions and
# human similarity scores (split "val"), which the text never contains as such.
TRAIN_METRICS = ("loss", "lr")


class WordsTrainer:
    def __init__(self, group: WordsGroup):
        self.group = group
        base = group.base
        self.corpus: Corpus = load_corpus(base.corpus, base.tokens, base.seed)
        self.vocab = Vocab.build(self.corpus.documents, base.min_count)
        self.index = self.vocab.index
        ids, docs = self.vocab.encode(self.corpus.documents)
        self.order = CorpusOrder(self.vocab, ids, docs, base.window, base.subsample, base.epochs, base.seed)
        noise = NoiseSampler(self.vocab)
        self.models = {run_id: WordModel(config, len(self.vocab), noise)
                       for run_id, config in zip(group.ids, group.runs)}
        self.questions = probes.Questions.build(self.corpus.analogies, self.index)
        total = self.order.total_steps
        self.probe_steps = sorted({round(i * total / (PROBES - 1)) for i in range(PROBES)})
        self.step = 0
        self.scalars: list[tuple[str, int, str, str, float]] = []
        self.hists: list[tuple[str, int, str, float, float, int]] = []
        self._losses: dict[str, list[float]] = {run_id: [] for run_id in self.models}
        self._last: dict[str, StepResult] = {}
        self._probe()

    @property
    def total_steps(self) -> int:
        return self.order.total_steps

    @property
    def done(self) -> bool:
        return self.step >= self.total_steps

    def advance(self, steps: int, progress: Callable[[int, int], None] | None = None) -> None:
        """Train up to `steps` more steps (fewer at the end), probing at probe steps."""
        for _ in range(min(steps, self.total_steps - self.step)):
            window = self.order.batch(self.step)
            fraction = self.order.progress(self.step)
            for run_id, model in self.models.items():
                result = model.step(window, fraction)
                if len(result.loss):  # a step whose centres all lack context words trains nothing
                    self._losses[run_id].append(float(result.loss.mean()))
                self._last[run_id] = result
            self.step += 1
            if self.step in self.probe_steps:
                self._probe()
            if progress is not None:
                progress(self.step, self.total_steps)

    def _probe(self) -> None:
        for run_id, model in self.models.items():
            losses = self._losses[run_id]
            # no loss row at step 0: nothing has been trained on yet
            rows = {"loss": float(np.mean(losses))} if losses else {}
            rows["lr"] = model.learning_rate(self.order.progress(self.step))
            self._losses[run_id] = []
            unit = model.unit_vectors()
            for relation, accuracy in probes.analogy_accuracy(unit, self.questions).items():
                rows["analogy_accuracy" if relation == "all" else f"analogy_accuracy.{relation}"] = accuracy
            if self.corpus.similarities:
                rows["wordsim_spearman"] = probes.wordsim_spearman(unit, self.corpus.similarities, self.index)[0]
            self.scalars.extend((run_id, self.step, "train" if metric in TRAIN_METRICS else "val", metric, value)
                                for metric, value in rows.items())
            self._histogram(run_id, "norm", model.w_in.norm(dim=1), probes.NORM_EDGES)
            if run_id in self._last:
                scores = self._last[run_id].scores
                self._histogram(run_id, "positive_logit", scores.positive, probes.LOGIT_EDGES)
                self._histogram(run_id, "negative_logit", scores.negative[scores.mask > 0], probes.LOGIT_EDGES)

    def _histogram(self, run_id: str, kind: str, values: torch.Tensor, edges: np.ndarray) -> None:
        counts = probes.histogram(values, edges)
        self.hists.extend((run_id, self.step, kind, float(lo), float(hi), int(n))
                          for lo, hi, n in zip(edges[:-1], edges[1:], counts))

    def scalars_table(self) -> pd.DataFrame:
        return pd.DataFrame(self.scalars, columns=["run", "step", "split", "metric", "value"])

    def hists_table(self) -> pd.DataFrame:
        return pd.DataFrame(self.hists, columns=["run", "step", "kind", "lo", "hi", "count"])

    def series(self, run_id: str, metric: str) -> list[float]:
        return [v for r, _, _, m, v in self.scalars if r == run_id and m == metric]

    def latest(self, run_id: str, metric: str) -> float:
        values = self.series(run_id, metric)
        return values[-1] if values else math.nan

    def first(self, run_id: str, metric: str) -> float:
        """The first finite value (the loss has none at step 0: nothing was trained yet)."""
        return next((v for v in self.series(run_id, metric) if math.isfinite(v)), math.nan)

    def neighbours(self, run_id: str, words: list[str], k: int = 8) -> list[list[tuple[str, float]]]:
        unit = self.models[run_id].unit_vectors()
        ids = [self.index[w] for w in words if w in self.index]
        return [[(self.vocab.words[i], cos) for i, cos in row] for row in probes.nearest(unit, ids, k)]
