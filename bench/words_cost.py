"""Word vectors: what the planted analogies and the Lee corpus cost, and the trainer against a plain loop.

planted: per seed, CPU seconds of one core for the default skip-gram run (20,000 tokens, 5 epochs, probes
included) with its final analogy accuracy, and CBOW's accuracy on the same windows (trained beside it).
probe_ratio = time per step of the WordsTrainer (its probes at about 60 steps included) / time per step of
a plain loop of the same SGD steps on the same corpus order without any probe. lee: our skip-gram and gensim's
(C code, one worker) on the same text and settings: CPU seconds, analogy accuracy and WordSim-353 Spearman.
"""

from __future__ import annotations

import time
from typing import Any

import torch

from bench.common import interleave, main_of, rnd, time_ratio
from engine.words.api import train_words
from engine.words.config import parse_words
from engine.words.trainer import WordsTrainer


def _cpu(call) -> tuple[float, Any]:
    start = time.process_time()
    result = call()
    return time.process_time() - start, result


def _planted(seeds: range) -> list[dict[str, Any]]:
    rows = []
    for seed in seeds:
        seconds, alone = _cpu(lambda seed=seed: train_words({"seed": seed}))
        pair = train_words({"seed": seed, "b.model": "cbow"})
        rows.append({"seed": seed, "skipgram_cpu_s": rnd(seconds),
                     "skipgram_accuracy": rnd(alone.trainer.latest("a", "analogy_accuracy")),
                     "cbow_accuracy": rnd(pair.trainer.latest("b", "analogy_accuracy"))})
    return rows


def _probe_ratio(block: int, rounds: int) -> dict[str, Any]:
    probed = WordsTrainer(parse_words({"epochs": 50}))
    plain = WordsTrainer(parse_words({"epochs": 50}))
    model, order = plain.models["a"], plain.order
    position = [0]

    def plain_steps(n: int) -> None:
        for _ in range(n):
            model.step(order.batch(position[0]), order.progress(position[0]))
            position[0] += 1

    times = interleave({"trainer": probed.advance, "plain": plain_steps}, block, rounds)
    ratio, quartiles = time_ratio(times, "trainer", "plain")
    return {"probe_ratio": rnd(ratio), "ratio_quartiles": [rnd(q) for q in quartiles]}


def _lee(seed: int) -> dict[str, Any]:
    from gensim.models import Word2Vec
    from gensim.test.utils import datapath

    from engine.words.corpora import lee_corpus

    settings = {"corpus": "lee", "dim": 50, "seed": seed}
    ours_s, ours = _cpu(lambda: train_words(settings))
    documents = [list(doc) for doc in lee_corpus().documents]
    theirs_s, model = _cpu(lambda: Word2Vec(documents, vector_size=50, window=5, min_count=5, sg=1, negative=5,
                                            sample=1e-3, epochs=5, workers=1, seed=seed))
    accuracy, _ = model.wv.evaluate_word_analogies(datapath("questions-words.txt"))
    spearman = model.wv.evaluate_word_pairs(datapath("wordsim353.tsv"))[1].statistic
    return {"seed": seed, "ours_cpu_s": rnd(ours_s), "gensim_cpu_s": rnd(theirs_s),
            "ours_analogy": rnd(ours.trainer.latest("a", "analogy_accuracy")), "gensim_analogy": rnd(accuracy),
            "ours_wordsim": rnd(ours.trainer.latest("a", "wordsim_spearman")), "gensim_wordsim": rnd(spearman),
            "questions_asked": ours.trainer.questions.asked}


def run(quick: bool = False) -> dict[str, Any]:
    torch.set_num_threads(1)
    return {"planted": _planted(range(1 if quick else 5)),
            **_probe_ratio(*((20, 3) if quick else (100, 9))),
            "lee": [_lee(seed) for seed in range(1 if quick else 3)]}


main = main_of("words_cost", __doc__, run)


if __name__ == "__main__":
    main()
