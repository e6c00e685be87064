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
from engine.training.advice import advice, fmt
from engine.vocabulary.config import RunConfig
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
CHANCE_MARGIN = 0.95  # validation loss at 95% of the loss of guessing, or worse ...
NOT_LEARNING_ACCURACY_GAIN = 0.2  # ... and, for classes, validation accuracy < 20% of the way from chance to 100%
NOT_LEARNING_MIN_STEPS = 200
CONVERGED_LOSS = 0.05  # training loss below 5% of the loss of guessing: converged, so tiny updates are no fault
LOSS_JUMP_RATIO = 2.0  # validation loss above twice its step-0 value while the training loss is up too ...
LOSS_SWING = 0.5  # ... or LOSS_SWINGS rises, each by half the step-0 loss, within the last LOSS_SWING_WINDOW probes
LOSS_SWINGS = 3
LOSS_SWING_WINDOW = 10
SIGMOID_DRIFT = 0.15  # a sigmoid layer's mean activation within 0.15 of 0 or of 1 (it starts near 0.5)
RECENT_POINTS = 5


# Every finding the rules below can emit, by its code, defined in one sentence from the thresholds above
# (the Guide shows these; a finding's own message adds the numbers of its run and what to try, built from the
# run's config by engine/training/advice.py so it never suggests what the run already uses).
FINDING_DEFINITIONS = {
    "vanishing_gradients":
        f"The back-propagated gradient at h1, the layer nearest the input, is below {VANISHING_RATIO:.0%} of the top "
        f"hidden layer's (at the latest probe or at step 0), so the lower layers barely learn.",
    "exploding_gradients":
        f"The back-propagated gradient at h1 is more than {EXPLODING_RATIO:.0f} times the top hidden layer's (at the "
        f"latest probe or at step 0), so updates to the lower layers overshoot.",
    "dead_units":
        f"At each of the last {RECENT_POINTS} probes, at least {DEAD_FRACTION:.0%} of a hidden layer's units have zero "
        f"slope for every probed example: no gradient reaches their weights, so they never recover.",
    "saturation":
        f"At the latest probe, at least {SATURATED_FRACTION:.0%} of a hidden layer's entries sit where the slope is "
        f"below 5% of its maximum, so each such entry passes back under 5% of the gradient it would at the steepest "
        f"point (for the squashing activations, flat in both tails: {', '.join(sorted(activations.SATURATING))}).",
    "sigmoid_drift":
        f"At each of the last {RECENT_POINTS} probes, a sigmoid layer's mean activation is within {SIGMOID_DRIFT:g} "
        f"of 0 or of 1 (it starts near 0.5): its units sit near a flat end of the curve, as Glorot and Bengio "
        f"(2010) saw the top sigmoid layer do under standard init.",
    "diverged":
        "The training loss became infinite or not a number, and the run stopped.",
    "loss_unstable":
        f"Within the last {LOSS_SWING_WINDOW} probes, the validation loss was more than {LOSS_JUMP_RATIO:g} times its "
        f"step-0 value while the training loss was up too, or rose {LOSS_SWINGS} times by more than {LOSS_SWING:g} of "
        f"its step-0 value each: the updates overshoot, though nothing became infinite.",
    "overfitting":
        f"The smoothed validation loss stayed more than {OVERFIT_RISE - 1:.0%} above its earlier best for the last "
        f"{OVERFIT_SUSTAINED} probes while the training loss fell by {1 - OVERFIT_TRAIN_FALL:.0%} or more: the net "
        f"memorizes its training points.",
    "lr_too_high":
        f"Over the last {RECENT_POINTS} probes, the median layer's updates change its weights by more than "
        f"{LR_HIGH_RATIO:g} of their size (about 0.001 is healthy; not reported behind batch or layer norm, whose "
        f"weights are scale-free, nor once the training loss is below {CONVERGED_LOSS:.0%} of the loss of guessing).",
    "lr_too_low":
        f"Over the last {RECENT_POINTS} probes, even the fastest-moving layer's updates change its weights by less "
        f"than {LR_LOW_RATIO:g} of their size (not reported when vanishing gradients or dead units explain it, nor "
        f"once the training loss is below {CONVERGED_LOSS:.0%} of the loss of guessing: a converged net barely moves).",
    "not_learning":
        f"After {NOT_LEARNING_MIN_STEPS} steps or more, the training and the validation loss are both still "
        f"{CHANCE_MARGIN:.0%} or more of the loss of guessing (ln 2 for two classes) and, for classes, the validation "
        f"accuracy is less than {NOT_LEARNING_ACCURACY_GAIN:.0%} of the way from chance (1 / classes) to 100%.",
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


def _said(diagnosis: str, code: str, config: RunConfig) -> str:
    """The diagnosis, then what to try that the run does not use yet."""
    return f"{diagnosis} {advice(code, config)}".strip()


def _stat_at(layers: pd.DataFrame, stat: str, step: int) -> pd.Series:
    rows = layers[(layers["stat"] == stat) & (layers["step"] == step)]
    return rows.set_index("layer")["value"]


def _hidden(series: pd.Series) -> pd.Series:
    return series[[name for name in series.index if name != "out"]]


def _recent(layers: pd.DataFrame, stat: str) -> tuple[pd.DataFrame, list]:
    """The rows of `stat` at the last RECENT_POINTS probe steps, and those steps."""
    rows = layers[layers["stat"] == stat]
    steps = sorted(rows["step"].unique())[-RECENT_POINTS:]
    return rows[rows["step"].isin(steps)], steps


def _gradient_flow(run: str, layers: pd.DataFrame, config: RunConfig) -> list[Finding]:
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
            return [Finding(run, "vanishing_gradients", bottom, int(step), _said(
                f"Gradients vanish toward the input: {when} the back-propagated gradient at {bottom} is "
                f"{fmt(ratio)} of {top}'s (RMS {fmt(g_bottom)} vs {fmt(g_top)}), so the lower layers barely learn.",
                "vanishing_gradients", config))]
        if ratio > EXPLODING_RATIO:
            return [Finding(run, "exploding_gradients", bottom, int(step), _said(
                f"Gradients explode toward the input: {when} the back-propagated gradient at {bottom} is "
                f"{fmt(ratio)} times {top}'s (RMS {fmt(g_bottom)} vs {fmt(g_top)}), so the lower layers' updates "
                f"overshoot: start from smaller weights.", "exploding_gradients", config))]
    return []


def _dead_units(run: str, layers: pd.DataFrame, config: RunConfig) -> list[Finding]:
    step = layers["step"].max()
    # A layer counts as dying only if it stays so over recent probes.
    rows, _ = _recent(layers, "dead_frac")
    dead = _hidden(rows.groupby("layer")["value"].min())
    dead = dead.reindex([n for n in _stat_at(layers, "dead_frac", step).index if n in dead.index])
    if dead.empty or not (dead.max() >= DEAD_FRACTION):
        return []
    layer = str(dead.idxmax())
    fraction = float(dead.max())
    width = config.hidden[int(layer[1:]) - 1]
    return [Finding(run, "dead_units", layer, int(step), _said(
        f"Dead units: at step {step}, {fraction:.0%} of {layer}'s units ({round(fraction * width)} of {width}) "
        f"output zero slope for every probed example, so no gradient reaches their weights and they never recover.",
        "dead_units", config))]


def _saturation(run: str, layers: pd.DataFrame, config: RunConfig) -> list[Finding]:
    if config.activation not in activations.SATURATING:  # flat tails are where these get stuck
        return []
    step = layers["step"].max()
    saturated = _hidden(_stat_at(layers, "saturated_frac", step)).dropna()
    if saturated.empty or not (saturated.max() >= SATURATED_FRACTION):
        return []
    layer = str(saturated.idxmax())
    return [Finding(run, "saturation", layer, int(step), _said(
        f"Saturation: at step {step}, {saturated.max():.0%} of {layer}'s {config.activation} units sit on the flat "
        f"part of the curve (slope below 5% of its maximum), where each passes back under 5% of the gradient it "
        f"would at the steepest point: they act as stuck switches.", "saturation", config))]


def _sigmoid_drift(run: str, layers: pd.DataFrame, config: RunConfig) -> list[Finding]:
    if config.activation != "sigmoid":  # the one activation whose outputs centre on 0.5, not 0
        return []
    rows, steps = _recent(layers, "act_mean")
    if len(steps) < RECENT_POINTS:
        return []
    means = rows.pivot_table(index="step", columns="layer", values="value", observed=True)
    means = means[[name for name in means.columns if name != "out"]]
    distance = np.minimum(means, 1 - means)  # how close each layer's mean is to 0 or to 1
    drifted = distance.columns[(distance < SIGMOID_DRIFT).all()]
    if drifted.empty:
        return []
    layer = str(distance[drifted].iloc[-1].idxmin())
    first = float(_stat_at(layers, "act_mean", layers["step"].min()).get(layer, math.nan))
    last = float(means[layer].iloc[-1])
    end = "0" if last < 0.5 else "1"
    return [Finding(run, "sigmoid_drift", layer, int(steps[-1]), _said(
        f"Sigmoid drift: {layer}'s mean activation went from {fmt(first)} at step 0 to {fmt(last)} at step "
        f"{steps[-1]}, close to {end}: its units sit near a flat end of the curve and pass little signal or "
        f"gradient (Glorot and Bengio 2010 saw the top sigmoid layer do this).", "sigmoid_drift", config))]


def series(scalars: pd.DataFrame, split: str, metric: str) -> pd.Series:
    rows = scalars[(scalars["split"] == split) & (scalars["metric"] == metric)]
    return rows.set_index("step")["value"].sort_index()


def _overfitting(run: str, scalars: pd.DataFrame, chance_loss: float, config: RunConfig) -> list[Finding]:
    raw = series(scalars, "val", "loss")
    if len(raw) < OVERFIT_MIN_POINTS or not np.isfinite(raw.to_numpy()).all():
        return []
    # Smoothed, with an absolute floor and held for several points: one noisy evaluation is not a trend.
    val = raw.rolling(OVERFIT_SMOOTHING, min_periods=1).mean()
    train = series(scalars, "train", "loss").rolling(RECENT_POINTS, min_periods=1).mean()
    best_step = int(val.idxmin())
    best, last = float(val.min()), float(val.iloc[-1])
    last_step = int(val.index[-1])
    threshold = max(best * OVERFIT_RISE, best + OVERFIT_MIN_RISE * chance_loss)
    if best_step >= val.index[-OVERFIT_SUSTAINED] or not (val.iloc[-OVERFIT_SUSTAINED:] > threshold).all():
        return []
    train_then, train_now = float(train.loc[best_step]), float(train.iloc[-1])
    if train_now >= OVERFIT_TRAIN_FALL * train_then:
        return []
    return [Finding(run, "overfitting", None, last_step, _said(
        f"Overfitting: validation loss rose from {fmt(best)} (step {best_step}) to {fmt(last)} while training loss "
        f"kept falling ({fmt(train_then)} to {fmt(train_now)}): the net memorizes the training points.",
        "overfitting", config))]


def converged(scalars: pd.DataFrame, chance_loss: float) -> bool:
    """The recent training loss is below CONVERGED_LOSS of the loss of guessing: there is little left to learn."""
    train = series(scalars, "train", "loss").iloc[-RECENT_POINTS:]
    return not train.empty and float(train.mean()) < CONVERGED_LOSS * chance_loss


def _learning_rate(run: str, layers: pd.DataFrame, config: RunConfig, low_has_other_cause: bool) -> list[Finding]:
    ratios, recent_steps = _recent(layers, "update_ratio")
    recent = ratios.groupby("layer", observed=True)["value"].mean()
    recent = recent[np.isfinite(recent)]
    if recent.empty:
        return []
    step = int(recent_steps[-1])
    median, largest = float(recent.median()), float(recent.max())
    # Weights in front of batch or layer norm are scale-free: the norm undoes their size, so large relative
    # updates only turn them and shrink as they grow. A learning rate too high there shows in the loss.
    if median > LR_HIGH_RATIO and config.norm == "none":
        return [Finding(run, "lr_too_high", str(recent.idxmax()), step, _said(
            f"Learning rate too high: each update changes the weights by {fmt(median)} of their size (median over "
            f"layers; about 1e-3 is healthy).", "lr_too_high", config))]
    if largest < LR_LOW_RATIO and not low_has_other_cause:  # dead or vanishing layers barely move at any lr
        return [Finding(run, "lr_too_low", str(recent.idxmax()), step, _said(
            f"Learning rate too low: even the fastest-moving layer ({recent.idxmax()}) changes by only "
            f"{fmt(largest)} of its size per update (about 1e-3 is healthy).", "lr_too_low", config))]
    return []


def _loss_unstable(run: str, scalars: pd.DataFrame, config: RunConfig) -> list[Finding]:
    val = series(scalars, "val", "loss")
    val = val[np.isfinite(val)]
    if len(val) < 2 or not val.iloc[0] > 0:
        return []
    start = float(val.iloc[0])
    train = series(scalars, "train", "loss").rolling(RECENT_POINTS, min_periods=1).mean()
    # Recent only: a net that spiked once and recovered has a fine learning rate now. The training loss up
    # too: a validation loss that rises while the training loss falls is overfitting.
    recent = val.iloc[-LOSS_SWING_WINDOW:]
    jumps = recent[(recent > LOSS_JUMP_RATIO * start) & (train.reindex(recent.index) > start)]
    rises = recent.diff()
    swings = rises[rises > LOSS_SWING * start]
    if jumps.empty and len(swings) < LOSS_SWINGS:
        return []
    if not jumps.empty:
        step, peak = int(jumps.idxmax()), float(jumps.max())
        what = f"rose from {fmt(start)} at step 0 to {fmt(peak)} at step {step}, {fmt(peak / start)} times its start"
    else:
        step = int(swings.index[-1])
        what = (f"rose {len(swings)} times in the last {LOSS_SWING_WINDOW} probes by more than half its step-0 "
                f"value {fmt(start)}, last at step {step}")
    return [Finding(run, "loss_unstable", None, step, _said(
        f"Unstable loss: the validation loss {what}, though nothing became infinite: the updates overshoot "
        f"(lr={fmt(config.lr)}).", "loss_unstable", config))]


def chance_accuracy(chance_loss: float) -> float:
    """1 / classes: the loss of guessing is ln(classes) for classification (engine/training/data.py)."""
    return 1 / round(math.exp(chance_loss))


def _not_learning(run: str, scalars: pd.DataFrame, chance_loss: float, steps_trained: int,
                  config: RunConfig) -> list[Finding]:
    val = series(scalars, "val", "loss")
    train = series(scalars, "train", "loss").iloc[-RECENT_POINTS:]
    if val.empty or steps_trained < NOT_LEARNING_MIN_STEPS or not math.isfinite(chance_loss):
        return []
    last = float(val.iloc[-1])
    # Both splits at chance: a net that fits its training points and fails validation overfits instead.
    if not (last >= CHANCE_MARGIN * chance_loss and float(train.mean()) >= CHANCE_MARGIN * chance_loss):
        return []
    # A confidently wrong net can have a loss above guessing yet an accuracy far above chance: that one learns.
    accuracy = series(scalars, "val", "accuracy").iloc[-RECENT_POINTS:]
    said_accuracy = ""
    if not accuracy.empty:
        chance, reached = chance_accuracy(chance_loss), float(accuracy.mean())
        if reached >= chance + NOT_LEARNING_ACCURACY_GAIN * (1 - chance):
            return []
        said_accuracy = f", and its validation accuracy is {reached:.0%} (chance: {chance:.0%})"
    step = int(val.index[-1])
    return [Finding(run, "not_learning", None, step, _said(
        f"Not learning: after {step} steps the validation loss is {fmt(last)}, no better than guessing "
        f"({fmt(chance_loss)}){said_accuracy}. The gradient and saturation charts show where the signal stops.",
        "not_learning", config))]


def _diverged(run: str, step: int, loss: float | None, config: RunConfig) -> list[Finding]:
    return [Finding(run, "diverged", None, step, _said(
        f"Diverged: at step {step} the training loss became {loss} and the run stopped: the updates overshoot.",
        "diverged", config))]


def diagnose(group: GroupConfig, scalars: pd.DataFrame, layers: pd.DataFrame, statuses: list[str],
             end_steps: list[int | None], end_losses: list[float | None], chance_loss: float,
             steps_trained: int) -> list[Finding]:
    findings: list[Finding] = []
    for k, (run_id, config) in enumerate(zip(group.ids, group.runs)):
        run_layers = layers[layers["run"] == run_id]
        run_scalars = scalars[scalars["run"] == run_id]
        if statuses[k] == "diverged":
            findings += _diverged(run_id, int(end_steps[k] or 0), end_losses[k], config)
            continue
        if run_layers.empty:
            continue
        signal = _gradient_flow(run_id, run_layers, config) + _dead_units(run_id, run_layers, config)
        findings += signal
        findings += _saturation(run_id, run_layers, config)
        findings += _sigmoid_drift(run_id, run_layers, config)
        findings += _loss_unstable(run_id, run_scalars, config)
        if not converged(run_scalars, chance_loss):  # a converged net's tiny updates say nothing about its lr
            findings += _learning_rate(run_id, run_layers, config, low_has_other_cause=bool(signal))
        findings += _overfitting(run_id, run_scalars, chance_loss, config)
        trained = end_steps[k] if end_steps[k] is not None else steps_trained
        findings += _not_learning(run_id, run_scalars, chance_loss, trained, config)
    return findings
