"""A search's results as tables and files: trials.csv, curves.csv, best.yaml and summary.json.

trials.csv: one row per trial: `trial`, each searched key, `status`, `steps` (where it ended), `best_step`
(its early-stopping point), `val_loss` and `val_accuracy` there, and `rank` by validation (1 = chosen).
curves.csv: `trial, step, train_loss, val_loss, val_accuracy` at every evaluation. best.yaml: the chosen
trial's config, as `--config` and the Playground read it. summary.json: the method, the space, the chosen
trial with its validation scores and, when the search held out a test split, its test score (read once, for
that trial only), and edge warnings.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pandas as pd

from engine.search.run import SearchOutcome, choose
from engine.search.trials import TrialResult
from engine.vocabulary.config import to_text
from engine.vocabulary.group import GroupConfig, config_yaml

TRIAL_COLUMNS = ("status", "steps", "best_step", "val_loss", "val_accuracy", "rank")
CURVE_COLUMNS = ("trial", "step", "train_loss", "val_loss", "val_accuracy")


def ranking(results: list[TrialResult | None], regression: bool) -> list[int]:
    """Trial indices from best to worst by validation (the order `choose` picks from); unscored ones last."""
    remaining = [r for r in results if r is not None]
    order = []
    while remaining:
        best = choose(remaining, regression)
        if best is None:
            order.extend(r.index for r in remaining)
            break
        order.append(best)
        remaining = [r for r in remaining if r.index != best]
    return order


def trials_table(outcome: SearchOutcome) -> pd.DataFrame:
    keys = list(outcome.spec.space)
    results = [r for r in outcome.results if r is not None]
    rank = {index: place + 1 for place, index in enumerate(ranking(results, outcome.spec.base.is_regression))}
    rows = []
    for r in results:
        values = {key: _value(r, key) for key in keys}
        rows.append({"trial": r.index, **values, "status": r.status, "steps": r.steps, "best_step": r.best_step,
                     "val_loss": r.val_loss, "val_accuracy": r.val_accuracy, "rank": rank[r.index]})
    table = pd.DataFrame(rows, columns=["trial", *keys, *TRIAL_COLUMNS])
    return table.sort_values("rank", kind="stable").reset_index(drop=True)


def _value(result: TrialResult, key: str) -> Any:
    value = getattr(result.config, key)
    return to_text(key, value) if key == "hidden" or isinstance(value, bool) else value


def curves_table(outcome: SearchOutcome) -> pd.DataFrame:
    rows = [(r.index, *point) for r in outcome.results if r is not None for point in r.curve]
    return pd.DataFrame(rows, columns=list(CURVE_COLUMNS))


def edge_warnings(outcome: SearchOutcome) -> list[str]:
    """CS231n's caution: the chosen value of a range at the edge of its range means the best may lie beyond."""
    if outcome.chosen is None:
        return []
    chosen = outcome.results[outcome.chosen]
    warnings = []
    for key, dim in outcome.spec.space.items():
        side = dim.at_edge(getattr(chosen.config, key))
        if side is not None:
            direction = "lower" if side == "low" else "higher"
            warnings.append(f"The best {key} ({getattr(chosen.config, key):g}) sits at the {side} edge of its "
                            f"range {dim.spec()}: the best value may lie {direction}; widen the range that way "
                            f"and search again.")
    return warnings


def summary(outcome: SearchOutcome) -> dict[str, Any]:
    """The search in a mapping; while it runs, `chosen` is the best trial so far (`final` says which)."""
    spec = outcome.spec
    index = outcome.chosen if outcome.done else choose(outcome.results, spec.base.is_regression)
    chosen = outcome.results[index] if index is not None else None
    out: dict[str, Any] = {
        "method": spec.method, "trials": len(outcome.results), "budget": spec.trials,
        "space": spec.space_text(), "finished_trials": len(outcome.finished()), "stopped": outcome.stopped,
        "seconds": round(outcome.seconds, 3), "final": outcome.done, "chosen": None, "test": None,
        "selection": "best validation accuracy at each trial's early-stopping point (validation loss breaks ties)"
                     if not spec.base.is_regression else "lowest validation loss at each trial's early-stopping point",
        "edge_warnings": edge_warnings(outcome),
    }
    if chosen is not None:
        out["chosen"] = {"trial": chosen.index, "values": {k: _value(chosen, k) for k in spec.space},
                         "status": chosen.status, "best_step": chosen.best_step,
                         "val_loss": _number(chosen.val_loss), "val_accuracy": _number(chosen.val_accuracy)}
    if outcome.test is not None:
        out["test"] = {"loss": _number(outcome.test.loss), "accuracy": _number(outcome.test.accuracy),
                       "points": outcome.test.points,
                       "note": "scored once, on the chosen trial's net at its early-stopping point; no other trial "
                               "was scored on the test split"}
    return out


def _number(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def best_yaml(outcome: SearchOutcome) -> str:
    if outcome.chosen is None:
        return ""
    return config_yaml(GroupConfig.single(outcome.results[outcome.chosen].config))


def write(outcome: SearchOutcome, out_dir: str | Path) -> list[Path]:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files = {
        "trials.csv": lambda p: trials_table(outcome).to_csv(p, index=False),
        "curves.csv": lambda p: curves_table(outcome).to_csv(p, index=False),
        "best.yaml": lambda p: p.write_text(best_yaml(outcome)),
        "summary.json": lambda p: p.write_text(json.dumps(summary(outcome), indent=2)),
    }
    for name, save in files.items():
        save(out / name)
    return [out / name for name in files]
