"""A run's outcome in one sentence once it has ended: learned, underfits, overfits or diverged.

Findings say what went wrong while a run trains; the verdict says how it ended, with the number, so an ended
run that fails its data never reads "no problems found". It reads the same tables the findings read and the
run's own findings (overfitting is decided once, by the overfitting rule).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd

from engine.training.advice import fmt
from engine.training.findings import FINDING_DEFINITIONS, RECENT_POINTS, Finding, chance_accuracy, series

LEARNED_GAIN = 0.8  # validation accuracy at least 80% of the way from chance (1 / classes) to 100% ...
LEARNED_LOSS_SHARE = 0.1  # ... or, for regression, a validation loss below 10% of a constant guess's
OVERFIT_GAP = 0.15  # training accuracy 15 points or more above the validation accuracy
ENDED = ("finished", "diverged", "early_stopped", "stopped")  # the trainer's statuses of a run that has ended

# Each outcome in one sentence, from the thresholds above (README.md's Findings table quotes these).
VERDICT_DEFINITIONS = {
    "learned":
        f"The validation accuracy is at least {LEARNED_GAIN:.0%} of the way from chance (1 / classes) to 100% (for "
        f"regression: the validation loss is below {LEARNED_LOSS_SHARE:.0%} of predicting the mean's).",
    "underfits":
        "Neither learned nor overfitting: the net has not fit even its training points.",
    "overfits":
        f"The overfitting finding fired, or the training accuracy is {OVERFIT_GAP * 100:.0f} points or more above the "
        f"validation accuracy.",
    "diverged":
        "The training loss became infinite or not a number.",
}


def _unfit(findings: Sequence[Finding]) -> str:
    """What underfitting means, and where to look: the findings when there are some."""
    why = "the findings say why" if findings else "a bigger net, another learning rate or more steps may help"
    return f"so it has not fit even the points it trains on: {why}."


def _classes(scalars: pd.DataFrame, findings: Sequence[Finding], chance_loss: float, step: int) -> str:
    val = float(series(scalars, "val", "accuracy").iloc[-1])
    train = float(series(scalars, "train", "accuracy").iloc[-RECENT_POINTS:].mean())
    chance = chance_accuracy(chance_loss)
    scores = f"{val:.1%} of the validation points right at step {step:,} (guessing gets {chance:.0%})"
    if "overfitting" in {f.code for f in findings} or train - val >= OVERFIT_GAP:
        return (f"Overfits: it gets {train:.0%} of its training batches right but {scores}: it memorized its "
                f"training points more than it learned the pattern.")
    if val >= chance + LEARNED_GAIN * (1 - chance):
        return f"Learned: it gets {scores}."
    return f"Underfits: it gets only {scores} and {train:.0%} of its training batches, {_unfit(findings)}"


def _regression(scalars: pd.DataFrame, findings: Sequence[Finding], chance_loss: float, step: int) -> str:
    val = float(series(scalars, "val", "loss").iloc[-1])
    train = float(series(scalars, "train", "loss").iloc[-RECENT_POINTS:].mean())
    scores = (f"its validation loss at step {step:,} is {fmt(val)}, {val / chance_loss:.0%} of the "
              f"{fmt(chance_loss)} that predicting the mean gets")
    if "overfitting" in {f.code for f in findings}:
        return f"Overfits: {scores}, against {fmt(train)} on its training batches: it memorized its training points."
    if val <= LEARNED_LOSS_SHARE * chance_loss:
        return f"Learned: {scores}."
    return f"Underfits: {scores}, and {fmt(train)} on its training batches, {_unfit(findings)}"


def verdict(scalars: pd.DataFrame, findings: Sequence[Finding], status: str, end_step: int | None,
            end_loss: float | None, chance_loss: float) -> str | None:
    """One run's outcome in one sentence, from its own scalars and findings; None while it still trains."""
    if status not in ENDED:
        return None
    if status == "diverged":
        loss = "not a number" if end_loss is None or math.isnan(end_loss) else fmt(end_loss)
        return f"Diverged: at step {end_step or 0:,} the training loss became {loss}, and the run stopped."
    if series(scalars, "val", "loss").empty:
        return None
    step = int(series(scalars, "val", "loss").index[-1])
    if step == 0:  # stopped before its first update: nothing to judge
        return None
    if not series(scalars, "val", "accuracy").empty:
        return _classes(scalars, findings, chance_loss, step)
    return _regression(scalars, findings, chance_loss, step)


def definitions_markdown() -> str:
    """The findings and the verdicts with their thresholds as a Markdown table: README.md quotes it verbatim."""
    rows = [f"| finding `{code}` | {meaning} |" for code, meaning in FINDING_DEFINITIONS.items()]
    rows += [f"| verdict *{outcome}* | {meaning} |" for outcome, meaning in VERDICT_DEFINITIONS.items()]
    return "\n".join(["| name | reported when |", "|---|---|", *rows])
