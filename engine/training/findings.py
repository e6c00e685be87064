"""Plain-language diagnoses from the tables: what is happening, where, with the number, what to try.

Each rule reads the tidy `scalars` and `layers` tables of one run, so it works the same on a finished
run, a run in progress, or tables read back from the CLI's CSV files. Thresholds are named below.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from engine.nets import activations
from engine.vocabulary.group import GroupConfig

VANISHING_RATIO = 0.01  # h1's back-propagated gradient below 1% of the top hidden layer's
EXPLODING_RATIO = 100.0
DEAD_FRACTION = 0.3
SATURATED_FRACTION = 0.5
OVERFIT_RISE = 1.1  # smoothed validation loss 10% above its best ...
OVERFIT_MIN_RISE = 0.05  # ... and by at least 5% of the chance loss, for the last OVERFIT_SUSTAINED points ...
OVERFIT_SUSTAINED = 3
OVERFIT_SMOOTHING = 3
OVERFIT_TRAIN_FALL = 0.9  # ... while training loss fell by 10% or more since then
OVERFIT_MIN_POINTS = 6
LR_HIGH_RATIO = 2e-2  # median update_ratio across layers, 20x the rule of thumb of about 1e-3
LR_LOW_RATIO = 1e-5  # largest update_ratio of any layer
CHANCE_MARGIN = 0.95  # validation loss at 95% of the loss of guessing, or worse
NOT_LEARNING_MIN_STEPS = 200
RECENT_POINTS = 5


# Every finding the rules below can emit, by its code, defined in one sentence from the thresholds above
# (the Guide shows these; a finding's own message adds the numbers of its run).
FINDING_DEFINITIONS = {
    "vanishing_gradients":
        f"The back-propagated gradient at h1, the layer nearest the input, is below {VANISHING_RATIO:.0%} of the top "
        f"hidden layer's (at the latest probe or at step 0), so the lower layers barely learn.",
    "exploding_gradients":
        f"The back-propagated gradient at h1 is more than {EXPLODING_RATIO:.0f} times the top hidden layer's (at the "
        f"latest probe or at step 0), so updates to the lower layers overshoot.",
    "dead_units":
        f"At each of the last {RECENT_POINTS} probes, at least {DEAD_FRACTION:.0%} of a hidden layer's units have zero "
        f"slope for every example of the batch: no gradient reaches their weights, so they never recover.",
    "saturation":
        f"At the latest probe, at least {SATURATED_FRACTION:.0%} of a hidden layer's entries sit where the slope is "
        f"below 5% of its maximum, so almost no gradient passes (for the activations with flat tails: "
        f"{', '.join(sorted(activations.SATURATING))}).",
    "diverged":
        "The training loss became infinite or not a number, and the run stopped.",
    "overfitting":
        f"The smoothed validation loss stayed more than {OVERFIT_RISE - 1:.0%} above its earlier best for the last "
        f"{OVERFIT_SUSTAINED} probes while the training loss fell by {1 - OVERFIT_TRAIN_FALL:.0%} or more: the net "
        f"memorizes its training points.",
    "lr_too_high":
        f"Over the last {RECENT_POINTS} probes, the median layer's updates change its weights by more than "
        f"{LR_HIGH_RATIO:g} of their size (about 0.001 is healthy; not reported behind batch or layer norm, whose "
        f"weights are scale-free).",
    "lr_too_low":
        f"Over the last {RECENT_POINTS} probes, even the fastest-moving layer's updates change its weights by less "
        f"than {LR_LOW_RATIO:g} of their size (not reported when vanishing gradients or dead units explain it).",
    "not_learning":
        f"After {NOT_LEARNING_MIN_STEPS} steps or more, the training and the validation loss are both still "
        f"{CHANCE_MARGIN:.0%} or more of the loss of guessing (ln 2 for two classes).",
}
FINDING_CODES = tuple(FINDING_DEFINITIONS)


@dataclass(frozen=True)
class Finding:
    run: str
    code: str
    layer: str | None
    step: int
    message: str

    def to_dict(self) -> dict:
        return asdict(self)


def _fmt(x: float) -> str:
    if x == 0 or not math.isfinite(x):
        return str(x)
    return f"{x:.2g}" if abs(x) < 1e-2 or abs(x) >= 1e4 else f"{x:.3g}"


def _stat_at(layers: pd.DataFrame, stat: str, step: int) -> pd.Series:
    rows = layers[(layers["stat"] == stat) & (layers["step"] == step)]
    return rows.set_index("layer")["value"]


def _hidden(series: pd.Series) -> pd.Series:
    return series[[name for name in series.index if name != "out"]]


def _gradient_flow(run: str, layers: pd.DataFrame) -> list[Finding]:
    steps = sorted(layers["step"].unique())
    if not steps:
        return []
    for step, when in ((steps[-1], f"at step {steps[-1]}"), (steps[0], "at initialization (step 0)")):
        grads = _hidden(_stat_at(layers, "grad_preact_rms", step))
        if len(grads) < 2:
            return []
        bottom, top = grads.index[0], grads.index[-1]
        g_bottom, g_top = float(grads.iloc[0]), float(grads.iloc[-1])
        if not (math.isfinite(g_bottom) and math.isfinite(g_top)) or g_top == 0:
            continue
        ratio = g_bottom / g_top
        if ratio < VANISHING_RATIO:
            return [Finding(run, "vanishing_gradients", bottom, int(step),
                            f"Gradients vanish toward the input: {when} the back-propagated gradient at "
                            f"{bottom} is {_fmt(ratio)} of {top}'s (RMS {_fmt(g_bottom)} vs {_fmt(g_top)}), "
                            "so the lower layers barely learn. Try relu with he_normal init, batch norm, "
                            "or fewer layers.")]
        if ratio > EXPLODING_RATIO:
            return [Finding(run, "exploding_gradients", bottom, int(step),
                            f"Gradients explode toward the input: {when} the back-propagated gradient at "
                            f"{bottom} is {_fmt(ratio)} times {top}'s (RMS {_fmt(g_bottom)} vs {_fmt(g_top)}). "
                            f"Try smaller initial weights (xavier or he init, init_gain below 1) or batch norm.")]
    return []


def _dead_units(run: str, layers: pd.DataFrame, widths: tuple[int, ...]) -> list[Finding]:
    step = layers["step"].max()
    # dead_frac is measured on one batch; a layer counts as dying only if it stays so over recent probes.
    rows = layers[layers["stat"] == "dead_frac"]
    recent = sorted(rows["step"].unique())[-RECENT_POINTS:]
    dead = _hidden(rows[rows["step"].isin(recent)].groupby("layer")["value"].min())
    dead = dead.reindex([n for n in _stat_at(layers, "dead_frac", step).index if n in dead.index])
    if dead.empty or not (dead.max() >= DEAD_FRACTION):
        return []
    layer = str(dead.idxmax())
    fraction = float(dead.max())
    width = widths[int(layer[1:]) - 1]
    return [Finding(run, "dead_units", layer, int(step),
                    f"Dead units: at step {step}, {fraction:.0%} of {layer}'s units ({round(fraction * width)} of "
                    f"{width}) output zero slope for every example, so no gradient reaches their weights and they "
                    f"never recover. Lower the learning rate, or try leaky_relu, elu or he_normal init.")]


def _saturation(run: str, layers: pd.DataFrame, activation: str) -> list[Finding]:
    if activation not in activations.SATURATING:  # flat tails are where these get stuck
        return []
    step = layers["step"].max()
    saturated = _hidden(_stat_at(layers, "saturated_frac", step))
    if saturated.empty or not (saturated.max() >= SATURATED_FRACTION):
        return []
    layer = str(saturated.idxmax())
    return [Finding(run, "saturation", layer, int(step),
                    f"Saturation: at step {step}, {saturated.max():.0%} of {layer}'s {activation} units sit on the "
                    f"flat part of the curve (slope below 5% of its maximum), where almost no gradient passes. "
                    f"Try smaller initial weights (xavier init), batch norm, or relu.")]


def _series(scalars: pd.DataFrame, split: str, metric: str) -> pd.Series:
    rows = scalars[(scalars["split"] == split) & (scalars["metric"] == metric)]
    return rows.set_index("step")["value"].sort_index()


def _overfitting(run: str, scalars: pd.DataFrame, chance_loss: float) -> list[Finding]:
    raw = _series(scalars, "val", "loss")
    if len(raw) < OVERFIT_MIN_POINTS or not np.isfinite(raw.to_numpy()).all():
        return []
    # Smoothed, with an absolute floor and held for several points: one noisy evaluation is not a trend.
    val = raw.rolling(OVERFIT_SMOOTHING, min_periods=1).mean()
    train = _series(scalars, "train", "loss").rolling(RECENT_POINTS, min_periods=1).mean()
    best_step = int(val.idxmin())
    best, last = float(val.min()), float(val.iloc[-1])
    last_step = int(val.index[-1])
    threshold = max(best * OVERFIT_RISE, best + OVERFIT_MIN_RISE * chance_loss)
    if best_step >= val.index[-OVERFIT_SUSTAINED] or not (val.iloc[-OVERFIT_SUSTAINED:] > threshold).all():
        return []
    train_then, train_now = float(train.loc[best_step]), float(train.iloc[-1])
    if train_now >= OVERFIT_TRAIN_FALL * train_then:
        return []
    return [Finding(run, "overfitting", None, last_step,
                    f"Overfitting: validation loss rose from {_fmt(best)} (step {best_step}) to {_fmt(last)} while "
                    f"training loss kept falling ({_fmt(train_then)} to {_fmt(train_now)}): the net memorizes the "
                    f"training points. Try dropout, weight_decay, more samples, or early_stopping.")]


def _learning_rate(run: str, layers: pd.DataFrame, lr: float, low_has_other_cause: bool,
                   normalized: bool = False) -> list[Finding]:
    ratios = layers[layers["stat"] == "update_ratio"]
    if ratios.empty:
        return []
    recent_steps = sorted(ratios["step"].unique())[-RECENT_POINTS:]
    recent = ratios[ratios["step"].isin(recent_steps)].groupby("layer")["value"].mean()
    recent = recent[np.isfinite(recent)]
    if recent.empty:
        return []
    step = int(recent_steps[-1])
    median, largest = float(recent.median()), float(recent.max())
    # Weights in front of batch or layer norm are scale-free: the norm undoes their size, so large relative
    # updates only turn them and shrink as they grow. A learning rate too high there shows in the loss.
    if median > LR_HIGH_RATIO and not normalized:
        return [Finding(run, "lr_too_high", str(recent.idxmax()), step,
                        f"Learning rate too high: each update changes the weights by {_fmt(median)} of their size "
                        f"(median over layers; about 1e-3 is healthy). Try lr={_fmt(lr / 10)}.")]
    if largest < LR_LOW_RATIO and not low_has_other_cause:  # dead or vanishing layers barely move at any lr
        return [Finding(run, "lr_too_low", str(recent.idxmax()), step,
                        f"Learning rate too low: even the fastest-moving layer ({recent.idxmax()}) changes by only "
                        f"{_fmt(largest)} of its size per update (about 1e-3 is healthy). Try lr={_fmt(lr * 10)}.")]
    return []


def _not_learning(run: str, scalars: pd.DataFrame, chance_loss: float, steps_trained: int) -> list[Finding]:
    val = _series(scalars, "val", "loss")
    train = _series(scalars, "train", "loss").iloc[-RECENT_POINTS:]
    if val.empty or steps_trained < NOT_LEARNING_MIN_STEPS or not math.isfinite(chance_loss):
        return []
    last = float(val.iloc[-1])
    # Both splits at chance: a net that fits its training points and fails validation overfits instead.
    if not (last >= CHANCE_MARGIN * chance_loss and float(train.mean()) >= CHANCE_MARGIN * chance_loss):
        return []
    step = int(val.index[-1])
    return [Finding(run, "not_learning", None, step,
                    f"Not learning: after {step} steps the validation loss is {_fmt(last)}, no better than "
                    f"guessing ({_fmt(chance_loss)}). The gradient and saturation charts show where the signal "
                    f"stops; try another learning rate, xavier or he init, batch norm, or fewer layers.")]


def _diverged(run: str, step: int, loss: float | None, lr: float) -> list[Finding]:
    return [Finding(run, "diverged", None, step,
                    f"Diverged: at step {step} the training loss became {loss} and the run stopped. "
                    f"The updates overshoot; try lr={_fmt(lr / 10)}, gradient-friendly init, or batch norm.")]


def diagnose(group: GroupConfig, scalars: pd.DataFrame, layers: pd.DataFrame, statuses: list[str],
             end_steps: list[int | None], end_losses: list[float | None], chance_loss: float,
             steps_trained: int) -> list[Finding]:
    findings: list[Finding] = []
    for k, (run_id, config) in enumerate(zip(group.ids, group.runs)):
        run_layers = layers[layers["run"] == run_id]
        run_scalars = scalars[scalars["run"] == run_id]
        if statuses[k] == "diverged":
            findings += _diverged(run_id, int(end_steps[k] or 0), end_losses[k], config.lr)
            continue
        if run_layers.empty:
            continue
        signal = _gradient_flow(run_id, run_layers) + _dead_units(run_id, run_layers, config.hidden)
        findings += signal
        findings += _saturation(run_id, run_layers, config.activation)
        findings += _learning_rate(run_id, run_layers, config.lr, low_has_other_cause=bool(signal),
                                   normalized=config.norm != "none")
        findings += _overfitting(run_id, run_scalars, chance_loss)
        trained = end_steps[k] if end_steps[k] is not None else steps_trained
        findings += _not_learning(run_id, run_scalars, chance_loss, trained)
    return findings
