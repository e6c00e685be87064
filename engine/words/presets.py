"""Checks of a preset that opens on the Word vectors page (`page: words`), called by
engine/lessons/presets.py's loader: its config is this page's vocabulary, its key chart one of WORDS_CHARTS,
and its claims read the words run's scalars (loss and lr on split train; analogy_accuracy,
analogy_accuracy.<relation> and wordsim_spearman on split val), never a layer stat or a net's finding.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.vocabulary.config import ConfigError, Problem
from engine.words.charts import WORDS_CHARTS
from engine.words.config import WordsGroup, parse_words
from engine.words.trainer import TRAIN_METRICS

WORDS_TOPIC = "words"  # the Gallery topic of the Word vectors presets
WORDS_PAGE = "words"  # a preset's `page` that opens on the Word vectors page
EVAL_METRICS = ("analogy_accuracy", "wordsim_spearman")  # and analogy_accuracy.<relation>


def check_words_chart(preset: Any) -> Any:
    """The pydantic check of key_chart and card for a words preset (raises ValueError)."""
    quantities = WORDS_CHARTS[preset.key_chart][1]
    if not quantities:
        raise ValueError(f"the key chart {preset.key_chart!r} has nothing a Gallery card can plot; use one of "
                         + ", ".join(name for name, (_, q) in WORDS_CHARTS.items() if q))
    if preset.card is not None and preset.card not in quantities:
        raise ValueError(f"card {preset.card!r} is not plotted by {preset.key_chart!r}, which plots "
                         + ", ".join(quantities))
    return preset


def _metric_problem(claim: Any, index: int) -> Problem | None:
    for part, quantity in (("value", claim.value), ("divided_by", claim.divided_by)):
        if claim.finding is not None or quantity is None:
            return Problem(key=f"claims.{index}", value="finding", message="a Word vectors claim reads a value",
                           allowed="value: {run, metric, split}") if claim.finding is not None else None
        metric = quantity.metric or ""
        expected = "train" if metric in TRAIN_METRICS else "val"
        known = metric in TRAIN_METRICS or metric in EVAL_METRICS or metric.startswith("analogy_accuracy.")
        if quantity.stat is not None or not known or quantity.split != expected:
            return Problem(key=f"claims.{index}.{part}", value=repr(metric or quantity.stat),
                           message="not a scalar of a word-vector run on its split",
                           allowed="metric loss or lr with split train; analogy_accuracy, "
                                   "analogy_accuracy.<relation> or wordsim_spearman with split val")
    return None


def check_words_preset(preset: Any, path: Path) -> WordsGroup:
    """The preset's group, or ConfigError naming the file and each bad key."""
    problems: list[Problem] = []
    try:
        group = parse_words(preset.config)
    except ConfigError as error:
        problems.extend(p.model_copy(update={"key": f"config.{p.key}"}) for p in error.problems)
    problems.extend(p for i, claim in enumerate(preset.claims) if (p := _metric_problem(claim, i)) is not None)
    if path.stem != preset.id:
        problems.append(Problem(key="id", value=preset.id, message="differs from the file name",
                                allowed=f"id: {path.stem}"))
    if problems:
        raise ConfigError(problems, source=str(path))
    return group
