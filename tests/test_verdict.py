"""An ended run's verdict: one sentence with its number, in place of "No problems found so far" (issue 12)."""

from __future__ import annotations

import engine
from engine.api import summarize
from engine.training.trainer import GroupTrainer
from engine.vocabulary.group import parse_group


def _final(result, metric: str, split: str = "val") -> float:
    return result.summary["runs"][0]["final"][f"{split}_{metric}"]


def _verdict(result) -> str:
    return result.summary["runs"][0]["verdict"]


def test_the_default_net_made_too_small_underfits_the_spiral_and_says_so():
    """The defaults (3x32 tanh, sgd at lr 0.1, spiral) with two sigmoid layers of 8 units: after 2,000 steps no
    finding fires, which used to read "No problems found so far", yet the net gets about 63% of the points right."""
    result = engine.train({"hidden": "2x8", "activation": "sigmoid", "steps": "2000"})
    accuracy = _final(result, "accuracy")
    assert result.findings == []
    assert accuracy < 0.7, accuracy  # measured 0.627
    verdict = _verdict(result)
    assert verdict.startswith("Underfits:"), verdict
    assert f"{accuracy:.1%}" in verdict and "guessing gets 50%" in verdict, verdict


def test_a_net_that_learns_says_to_what_accuracy():
    result = engine.train({"dataset": "moons", "init": "xavier_uniform", "lr": "0.1", "steps": "1000"})
    accuracy = _final(result, "accuracy")
    assert accuracy > 0.95
    verdict = _verdict(result)
    assert verdict.startswith("Learned:") and f"{accuracy:.1%}" in verdict, verdict


def test_a_regression_net_that_learns_says_its_loss_against_predicting_the_mean():
    result = engine.train({"dataset": "sine", "steps": "2000"})
    verdict = _verdict(result)
    assert verdict.startswith("Learned:"), verdict
    assert f"is {_final(result, 'loss'):.3g}," in verdict, verdict


def test_an_overfitting_net_says_it_overfits():
    result = engine.train({"samples": "60", "noise": "0.6", "hidden": "64,64", "optimizer": "adam", "lr": "0.01",
                           "steps": "800", "val_fraction": "0.5"})
    assert "overfitting" in [f["code"] for f in result.findings]
    verdict = _verdict(result)
    assert verdict.startswith("Overfits:") and f"{_final(result, 'accuracy'):.1%}" in verdict, verdict


def test_a_diverged_net_says_when():
    result = engine.train({"dataset": "sine", "lr": "10", "steps": "300"})
    run = result.summary["runs"][0]
    assert run["status"] == "diverged"
    assert _verdict(result).startswith(f"Diverged: at step {run['steps']:,} "), _verdict(result)


def test_no_verdict_while_a_run_trains():
    trainer = GroupTrainer(parse_group({"hidden": "2x8", "steps": "200"}))
    trainer.advance(50)
    _, _, _, summary, _ = summarize(trainer)
    assert summary["runs"][0]["status"] == "running" and summary["runs"][0]["verdict"] is None
    trainer.advance(200)
    _, _, _, summary, _ = summarize(trainer)
    assert summary["runs"][0]["status"] == "finished" and summary["runs"][0]["verdict"]
