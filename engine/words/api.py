"""`train_words(group)`: train one or two word-vector models to the end and gather what they learned, as
tables and the files `python -m engine words` writes (the Embedding Projector reads vectors.tsv with
metadata.tsv; the other files are CSV and JSON).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from engine.words import probes
from engine.words.config import WordsGroup, parse_words
from engine.words.findings import findings
from engine.words.trainer import WordsTrainer

# Words whose neighbours the Lee corpus shows: frequent, each with a topic of its own in these stories.
LEE_WORDS = ("fire", "police", "government", "australia", "cricket", "bank", "afghanistan", "israeli")
NEIGHBOURS = 8


def probe_words(trainer: WordsTrainer) -> list[str]:
    """The words whose nearest neighbours are listed: the planted corpus's analogy words, or LEE_WORDS."""
    if trainer.corpus.name == "planted":
        words = dict.fromkeys(w for q in trainer.corpus.analogies[::7] for w in (q.a, q.b))
    else:
        words = dict.fromkeys(LEE_WORDS)
    return [w for w in words if w in trainer.index]


@dataclass
class WordsResult:
    trainer: WordsTrainer
    scalars: pd.DataFrame  # run, step, split, metric, value
    hists: pd.DataFrame  # run, step, kind, lo, hi, count
    findings: list[dict]
    layers: pd.DataFrame  # empty: a word model has no layer stats (preset claims read scalars)

    @property
    def summary(self) -> dict[str, Any]:
        t = self.trainer
        runs = []
        for run_id, label in zip(t.group.ids, t.group.labels):
            final = {m: t.latest(run_id, m) for m in ("loss", "analogy_accuracy", "wordsim_spearman")}
            runs.append({"run": run_id, "label": label, "model": t.models[run_id].config.model,
                         "final": {k: v for k, v in final.items() if v == v}})
        return {"status": "done" if t.done else "stopped", "steps": t.step, "tokens": int(t.vocab.counts.sum()),
                "vocabulary": len(t.vocab), "questions_asked": t.questions.asked,
                "questions_total": t.questions.total, "runs": runs, "findings": self.findings}

    def neighbours_table(self) -> pd.DataFrame:
        rows = []
        words = probe_words(self.trainer)
        for run_id in self.trainer.models:
            for word, row in zip(words, self.trainer.neighbours(run_id, words, NEIGHBOURS)):
                rows.extend((run_id, word, rank, other, cos) for rank, (other, cos) in enumerate(row, 1))
        return pd.DataFrame(rows, columns=["run", "word", "rank", "neighbour", "cosine"])

    def analogies_table(self) -> pd.DataFrame:
        t, q = self.trainer, self.trainer.questions
        frames = []
        for run_id, model in t.models.items():
            answered = probes.answers(model.unit_vectors(), q).numpy()
            ids = q.ids.numpy()
            words = pd.DataFrame({name: [t.vocab.words[i] for i in ids[:, k]] for k, name in enumerate("abcd")})
            frames.append(pd.DataFrame({
                "run": run_id, "relation": [q.relations[r] for r in q.relation_of],
                "a": words["a"], "b": words["b"], "c": words["c"], "expected": words["d"],
                "answer": [t.vocab.words[i] for i in answered], "correct": answered == ids[:, 3]}))
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    def write(self, out: Path) -> None:
        out.mkdir(parents=True, exist_ok=True)
        t = self.trainer
        (out / "metadata.tsv").write_text("word\tcount\n" + "".join(
            f"{w}\t{n}\n" for w, n in zip(t.vocab.words, t.vocab.counts)))
        for run_id, model in t.models.items():
            name = "vectors.tsv" if run_id == "a" else f"vectors.{run_id}.tsv"
            pd.DataFrame(model.w_in.numpy()).to_csv(out / name, sep="\t", header=False, index=False,
                                                    float_format="%.6g")
        self.neighbours_table().to_csv(out / "neighbours.csv", index=False)
        self.analogies_table().to_csv(out / "analogies.csv", index=False)
        self.scalars.to_csv(out / "scalars.csv", index=False)
        (out / "summary.json").write_text(json.dumps(self.summary, indent=2, allow_nan=False) + "\n")


def result_of(trainer: WordsTrainer) -> WordsResult:
    return WordsResult(trainer, trainer.scalars_table(), trainer.hists_table(), findings(trainer),
                       pd.DataFrame(columns=["run", "step", "layer", "stat", "value"]))


def train_words(group: WordsGroup | Mapping[str, Any],
                progress: Callable[[int, int], None] | None = None) -> WordsResult:
    """Train to the end (deterministic on the CPU: the same numbers every time)."""
    trainer = WordsTrainer(group if isinstance(group, WordsGroup) else parse_words(group))
    trainer.advance(trainer.total_steps, progress)
    return result_of(trainer)
