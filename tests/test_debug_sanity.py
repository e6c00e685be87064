"""The sanity checks (engine/debugging/sanity.py): a healthy net overfits 20 examples within a bounded number of
steps and raises no finding; each training-level bug is caught by the check meant for it, with its finding;
an initial loss far above ln K is named."""

from __future__ import annotations

import math

import pytest

from engine.debugging.sanity import NEAR_ZERO, sanity_check
from engine.nets.bugs import BUGS
from engine.vocabulary.config import parse_run

DIGITS = {"dataset": "digits", "hidden": "32", "optimizer": "adam", "lr": "0.01"}
QUICK = {"overfit_steps": 300, "validation_steps": 400}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_healthy_net_overfits_20_examples_quickly_and_raises_no_finding(seed):
    sanity = sanity_check(parse_run({**DIGITS, "seed": seed}), **QUICK)
    assert sanity.overfit_n == 20
    assert sanity.overfit_reached is not None and sanity.overfit_reached <= 60  # 15 at seeds 0-2
    assert sanity.overfit_held
    step, loss, accuracy = sanity.overfit_curve[-1]
    assert loss < NEAR_ZERO * math.log(10) and accuracy == 1.0 and step >= 2 * sanity.overfit_reached
    assert abs(sanity.initial_loss - math.log(10)) < 0.3 and sanity.expected_loss == pytest.approx(math.log(10))
    assert sanity.validation["val_accuracy"] > 0.85
    assert sanity.findings == []


def _codes(bug: str, **settings) -> tuple[list[str], object]:
    sanity = sanity_check(parse_run({**DIGITS, "bug": bug, **settings}), **QUICK)
    return [(f.check, f.code) for f in sanity.findings], sanity


def test_softmax_before_the_loss_is_caught_by_the_overfit_check():
    codes, sanity = _codes("softmax_twice")
    assert codes == [("overfit", "loss_floor")] and BUGS["softmax_twice"].caught_by == "overfit"
    _, loss, accuracy = sanity.overfit_curve[-1]
    assert accuracy == 1.0 and 1.4 < loss < 1.6  # the floor ln(e + 9) - 1 = 1.46 for 10 classes
    assert "softmax" in sanity.findings[0].message and "1.46" in sanity.findings[0].message
    assert abs(sanity.initial_loss - math.log(10)) < 0.1  # the initial loss looks healthy: it cannot tell


def test_shuffled_labels_are_memorised_and_caught_only_by_validation():
    codes, sanity = _codes("shuffled_labels")
    assert sanity.overfit_reached is not None and sanity.overfit_held  # 20 random labels, memorised
    assert codes == [("validation", "labels_unlearnable")] and BUGS["shuffled_labels"].caught_by == "validation"
    assert sanity.validation["val_accuracy"] < sanity.validation["chance_accuracy"] + 0.05


def test_gradients_never_cleared_are_caught_by_the_validation_check():
    sanity = sanity_check(parse_run({"bug": "no_zero_grad"}), overfit_steps=300, validation_steps=500)
    codes = [(f.check, f.code) for f in sanity.findings]
    assert ("validation", "loss_grows") in codes and BUGS["no_zero_grad"].caught_by == "validation"
    assert sanity.validation["val_loss"] > 4 * math.log(2)


def test_an_initial_loss_far_above_ln_k_is_named():
    sanity = sanity_check(parse_run({**DIGITS, "init_gain": "6"}), overfit_steps=60, validation_steps=50)
    first = sanity.findings[0]
    assert (first.check, first.code) == ("initial loss", "initial_loss_high")
    assert sanity.initial_loss > 1.5 * math.log(10) and "init_gain 6" in first.message
