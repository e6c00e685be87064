"""Sanity checks before training for real (Larochelle's and Karpathy's advice): three short runs of the engine.

1. The initial loss against what a net that knows nothing scores: ln K for K classes (uniform
   probabilities), the targets' variance for regression. Far above it, the net starts confidently wrong
   (output weights too large).
2. Overfit N examples (default 20): train on N training points only, the whole N every step, with dropout and
   regularization off, and report whether the training loss reaches near zero, at which step, and whether it
   stays there (trained on to twice that step). A net that cannot memorise 20 points has a bug in its loss or
   its update.
3. Validation: train on the whole split for a while and compare validation with chance. Overfitting cannot
   catch a label bug (random labels are memorised as fast as real ones); held-out points can.

Every check trains the run as it is configured, planted bug included (engine/nets/bugs.py), through the
trainer (engine/training/trainer.py): the real code path. Pre-training is skipped (the checks are about
fine-tuning's loss and update, and greedy pre-training can take longer than all three together).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

from engine.training.history import SCALARS
from engine.training.trainer import GroupTrainer
from engine.vocabulary.config import RunConfig
from engine.vocabulary.group import GroupConfig

OVERFIT_N = 20
OVERFIT_STEPS = 1000  # at most, for the overfit check
OVERFIT_PROBE_EVERY = 5  # the loss is read every this many steps (a probe costs more than a step of 20 points)
NEAR_ZERO = 0.1  # "near zero": a training loss below this share of the chance loss (0.069 for 2 classes)
HOLD = 50  # once near zero, train on to twice that step (at least this many more) to see that it stays there
VALIDATION_STEPS = 3000  # at most (the run's own steps if fewer)
CHANCE_MARGIN = 0.05  # validation accuracy within this of chance counts as chance
LOSS_GROWS = 4.0  # a validation loss above this many times the chance loss: the updates blow the outputs up
CHANCE_LOSS_SHARE = 0.9  # regression: a validation loss above this share of the targets' variance is chance
INITIAL_HIGH, INITIAL_LOW = 1.5, 0.5  # the initial loss over its expected value, outside these is far off
INITIAL_POINTS = 1024  # training points the initial loss is averaged over, at most
_TRAIN_LOSS, _TRAIN_ACC = SCALARS.index(("train", "loss")), SCALARS.index(("train", "accuracy"))
_VAL_LOSS, _VAL_ACC = SCALARS.index(("val", "loss")), SCALARS.index(("val", "accuracy"))
OFF_FOR_OVERFIT = {"dropout": 0.0, "weight_decay": 0.0, "l1": 0.0, "early_stopping": 0, "pretrain": "none"}


@dataclass
class Finding:
    check: str  # "initial loss", "overfit" or "validation"
    code: str
    message: str


@dataclass
class Sanity:
    """The three checks of one run; `findings` says what is wrong, in words (empty when all is well)."""

    initial_loss: float
    expected_loss: float
    overfit_n: int
    overfit_reached: int | None  # the first step whose training loss was near zero; None: never
    overfit_held: bool  # still near zero at the end of the overfit run (twice the step it got there)
    overfit_curve: list[tuple[int, float, float]]  # (step, training loss, training accuracy)
    validation_steps: int
    validation: dict[str, float]  # train_loss, train_accuracy, val_loss, val_accuracy, chance_accuracy, chance_loss
    findings: list[Finding] = field(default_factory=list)

    @property
    def near_zero(self) -> float:
        return NEAR_ZERO * self.expected_loss


def initial_loss(trainer: GroupTrainer) -> float:
    """The loss of the untrained net over the first training points, as step 0 of training would see it."""
    data = trainer.data
    x, y = data.x_train[:INITIAL_POINTS], data.y_train[:INITIAL_POINTS]
    with torch.no_grad():
        logits = trainer.stacks[0].forward(x, mode="init")
        return float(trainer.loss(logits, y, [0])[0])


def _initial_finding(run: RunConfig, loss: float, expected: float, classification: bool) -> Finding | None:
    ratio = loss / expected if expected > 0 else math.inf
    what = "ln K" if classification else "the targets' variance"
    if ratio > INITIAL_HIGH:
        return Finding("initial loss", "initial_loss_high",
                       f"The untrained net's loss is {loss:.3g}, {ratio:.1f}x {what} ({expected:.3g}): it starts "
                       f"confidently wrong, its outputs far from uniform. The initial weights are too large "
                       f"(init {run.init}, init_gain {run.init_gain:g}): start smaller, e.g. init_gain 1 or the "
                       f"output layer near 0.")
    if ratio < INITIAL_LOW:
        return Finding("initial loss", "initial_loss_low",
                       f"The untrained net's loss is {loss:.3g}, only {ratio:.2f}x {what} ({expected:.3g}): a net "
                       f"that knows nothing cannot do this well. Look for the answers leaking into the inputs.")
    return None


def _near_zero(loss: float, accuracy: float, threshold: float) -> bool:
    return loss < threshold and (math.isnan(accuracy) or accuracy == 1.0)


def overfit(run: RunConfig, n: int = OVERFIT_N, max_steps: int = OVERFIT_STEPS,
            near_zero: float | None = None) -> tuple[int | None, list[tuple[int, float, float]]]:
    """Train on the first n training points, all of them every step; (the first step with the loss below
    near_zero and, for classes, 100% accuracy; the curve). Once there it trains on to twice that step (at least
    HOLD steps more, at most max_steps), so the curve's end says whether the loss stays there."""
    config = run.model_copy(update={**OFF_FOR_OVERFIT, "labels": n, "batch_size": n, "steps": max_steps,
                                    "probe_every": OVERFIT_PROBE_EVERY})
    trainer = GroupTrainer(GroupConfig.single(config))
    threshold = NEAR_ZERO * trainer.data.chance_loss() if near_zero is None else near_zero
    curve, reached, stop = [], None, max_steps
    while not trainer.done and trainer.step < stop:
        for snapshot in trainer.advance(1):
            if not snapshot.runs:
                continue
            loss, accuracy = float(snapshot.scalars[0, _TRAIN_LOSS]), float(snapshot.scalars[0, _TRAIN_ACC])
            curve.append((snapshot.step, loss, accuracy))
            if reached is None and _near_zero(loss, accuracy, threshold):
                reached, stop = snapshot.step, min(max_steps, max(2 * snapshot.step, snapshot.step + HOLD))
    return reached, curve


def _overfit_finding(n: int, reached: int | None, curve: list, near_zero: float, classes: int) -> Finding | None:
    step, loss, accuracy = curve[-1]
    if reached is not None and _near_zero(loss, accuracy, near_zero):
        return None
    if reached is not None and math.isfinite(loss):
        return Finding("overfit", "overfit_unstable",
                       f"The loss on {n} examples reached near zero at step {reached} but by step {step} it is back "
                       f"at {loss:.3g}: the updates keep pushing past the minimum instead of settling. Are "
                       f"gradients cleared between steps, or do they pile up?")
    if not math.isfinite(loss):
        return Finding("overfit", "overfit_diverged",
                       f"Training on just {n} examples, the loss stopped being a number at step {step}: the updates "
                       f"blow up (a gradient summed over steps that are never cleared, or too high a learning rate).")
    if classes and accuracy == 1.0:
        floor = math.log(math.e + classes - 1) - 1
        return Finding("overfit", "loss_floor",
                       f"Every one of the {n} examples is classified right, yet the loss stalls at {loss:.3g}, far "
                       f"above 0 (near zero is below {near_zero:.2g}). Cross-entropy on probabilities instead of "
                       f"scores cannot go below ln(e + K - 1) - 1 = {floor:.3g} for K = {classes}: is softmax "
                       f"applied before the loss, which applies its own?")
    shown = f", accuracy {accuracy:.0%}" if classes else ""
    return Finding("overfit", "cannot_overfit",
                   f"After {step} steps on just {n} examples the training loss is still {loss:.3g}{shown}: a "
                   f"healthy net memorises them. Check the update (are gradients cleared between steps?), the loss, "
                   f"and the learning rate.")


def validation(run: RunConfig, max_steps: int = VALIDATION_STEPS) -> tuple[int, dict[str, float]]:
    """Train on the whole training split for up to max_steps; the last measurement, and chance's numbers."""
    steps = min(run.steps, max_steps)
    config = run.model_copy(update={"steps": steps, "probe_every": max(1, steps // 20), "pretrain": "none"})
    trainer = GroupTrainer(GroupConfig.single(config))
    trainer.run()
    last = trainer.history.snapshots()[-1].scalars[0]
    data = trainer.data
    return trainer.end_step[0], {
        "train_loss": float(last[_TRAIN_LOSS]), "train_accuracy": float(last[_TRAIN_ACC]),
        "val_loss": float(last[_VAL_LOSS]), "val_accuracy": float(last[_VAL_ACC]),
        "chance_accuracy": data.chance_accuracy(), "chance_loss": data.chance_loss(),
    }


def _validation_finding(steps: int, numbers: dict[str, float], overfits: bool) -> Finding | None:
    if not numbers["val_loss"] < LOSS_GROWS * numbers["chance_loss"]:  # NaN too: the run diverged
        return Finding("validation", "loss_grows",
                       f"After {steps} steps on the whole training split the validation loss is "
                       f"{numbers['val_loss']:.3g}, over {LOSS_GROWS:g}x the {numbers['chance_loss']:.3g} of a net "
                       f"that knows nothing: the updates grow until the outputs are wildly overconfident. Do "
                       f"gradients pile up between steps (never cleared)? Is the learning rate too high?")
    if math.isnan(numbers["chance_accuracy"]):  # regression
        at_chance = not numbers["val_loss"] < CHANCE_LOSS_SHARE * numbers["chance_loss"]
        shown = f"validation loss {numbers['val_loss']:.3g}, the targets' variance {numbers['chance_loss']:.3g}"
    else:
        at_chance = not numbers["val_accuracy"] > numbers["chance_accuracy"] + CHANCE_MARGIN
        shown = (f"validation accuracy {numbers['val_accuracy']:.0%}, chance {numbers['chance_accuracy']:.0%} "
                 f"(always the commonest class)")
    if not at_chance:
        return None
    if overfits:
        return Finding("validation", "labels_unlearnable",
                       f"After {steps} steps on the whole training split: {shown}. Yet the net memorises 20 "
                       f"examples: it can learn, but what it learns does not carry over to held-out points. Are "
                       f"the training labels matched to their inputs (shuffled, misaligned)?")
    return Finding("validation", "not_learning",
                   f"After {steps} steps on the whole training split: {shown}, and it could not overfit 20 examples "
                   f"either: fix that first.")


def sanity_check(run: RunConfig, n: int = OVERFIT_N, overfit_steps: int = OVERFIT_STEPS,
                 validation_steps: int = VALIDATION_STEPS) -> Sanity:
    """The three checks of one run, with their findings."""
    trainer = GroupTrainer(GroupConfig.single(run.model_copy(update={"pretrain": "none"})))
    data = trainer.data
    loss, expected = initial_loss(trainer), data.chance_loss()
    n = min(n, len(data.x_train))
    reached, curve = overfit(run, n, overfit_steps)
    held = reached is not None and _near_zero(curve[-1][1], curve[-1][2], NEAR_ZERO * expected)
    steps, numbers = validation(run, validation_steps)
    findings = [_initial_finding(run, loss, expected, trainer.classification),
                _overfit_finding(n, reached, curve, NEAR_ZERO * expected, data.n_classes),
                _validation_finding(steps, numbers, held)]
    return Sanity(initial_loss=loss, expected_loss=expected, overfit_n=n, overfit_reached=reached, overfit_held=held,
                  overfit_curve=curve, validation_steps=steps, validation=numbers,
                  findings=[f for f in findings if f is not None])
