"""The Gallery's preview of a Word vectors preset: the whole run, trained once, kept as one curve per card
quantity and run (`[[step, value], ...]`, engine/words/charts.py WORDS_CURVES), in presets/previews.json beside
the net presets' previews (engine/lessons/previews.py writes the file and calls this for page words).
"""

from __future__ import annotations

import math
from typing import Any

from engine.words.api import train_words
from engine.words.charts import WORDS_CURVES
from engine.words.config import parse_words

SIGNIFICANT = 5


def words_preview_hash(config: dict[str, Any]) -> str:
    return "words-" + parse_words(config).fingerprint()


def _number(value: float) -> float | None:
    return float(f"{value:.{SIGNIFICANT}g}") if math.isfinite(value) else None


def words_preview(config: dict[str, Any]) -> dict[str, Any]:
    group = parse_words(config)
    result = train_words(group)
    trainer, scalars = result.trainer, result.scalars
    runs = []
    for run_id, label in zip(group.ids, group.labels):
        curves = {}
        for name in WORDS_CURVES:
            rows = scalars[(scalars["run"] == run_id) & (scalars["metric"] == name)].sort_values("step")
            curves[name] = [[int(s), _number(v)] for s, v in zip(rows["step"], rows["value"])]
        runs.append({"id": run_id, "label": label, "status": "done", "end_step": trainer.step, **curves})
    return {"hash": words_preview_hash(config), "steps": trainer.total_steps, "runs": runs}
