"""Plain-language findings about a word-vector run, each from numbers of that run.

- `few_questions`: most analogy questions of the corpus cannot be asked, because a word is missing from the
  vocabulary (rare or absent in the text).
- `analogies_need_text` (real text only): analogy accuracy is low and the words of the questions asked are
  rare: an analogy is a difference of two differences of vectors, each word's vector is learned from the few
  windows it appears in, and the noise of four such vectors swamps the offset. word2vec's analogies came from
  about 1.6 billion words of news (Mikolov et al. 2013); a corpus of tens of thousands gives each question word
  a few dozen windows.
- `loss_diverged`: the loss is not finite or ended above 1.5 times its first measurement: the learning rate
  is too large.
"""

from __future__ import annotations

import math

import numpy as np

LOW_ACCURACY = 0.2
FEW_ASKED = 0.25  # share of the corpus's questions that can be asked
RARE = 200  # median count of a question word in the text
LOSS_GROWTH = 1.5  # a loss that ends this many times above its first measurement has diverged


def findings(trainer) -> list[dict]:
    """[{run, code, step, message}] for the trainer as it is now."""
    out = []
    questions = trainer.questions
    counts = trainer.vocab.counts
    words = np.unique(questions.ids.numpy()) if questions.asked else np.zeros(0, dtype=np.int64)
    median = float(np.median(counts[words])) if len(words) else math.nan
    tokens = int(counts.sum())
    if questions.total and questions.asked / questions.total < FEW_ASKED:
        out.append({"run": "all", "code": "few_questions", "step": trainer.step,
                    "message": f"Only {questions.asked:,} of the corpus's {questions.total:,} analogy questions "
                               f"({questions.asked / questions.total:.0%}) have all four words in the vocabulary "
                               f"of {len(trainer.vocab):,} words; the rest name words this text uses fewer than "
                               f"min_count times or never."})
    for run_id in trainer.models:
        accuracy = trainer.latest(run_id, "analogy_accuracy")
        loss, first = trainer.latest(run_id, "loss"), trainer.first(run_id, "loss")
        diverged = not math.isfinite(loss) or (math.isfinite(first) and loss > LOSS_GROWTH * first)
        if diverged:
            what = (f"became {loss:.3g}, not a finite number" if not math.isfinite(loss)
                    else f"ended at {loss:.3g}, above {LOSS_GROWTH:g} times its first measurement {first:.3g}")
            out.append({"run": run_id, "code": "loss_diverged", "step": trainer.step,
                        "message": f"The training loss {what}: steps this large overshoot; try a smaller lr "
                                   f"(this run has lr {trainer.models[run_id].config.lr:g})."})
        real_text = bool(trainer.corpus.similarities)  # the planted text needs few windows: it has no noise
        if trainer.done and real_text and not diverged and accuracy < LOW_ACCURACY and median < RARE:
            out.append({"run": run_id, "code": "analogies_need_text", "step": trainer.step,
                        "message": f"Analogy accuracy is {accuracy:.1%} on {questions.asked:,} questions. The "
                                   f"median question word occurs {median:.0f} times in the text's {tokens:,} "
                                   f"tokens of words with a vector: "
                                   f"too few windows to place four vectors precisely enough for b - a + c to "
                                   f"land on d. word2vec's analogies came from about 1.6 billion words."})
    return out
