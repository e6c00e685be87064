"""Each finding fires on a run built to trigger it, says where and how much, and stays silent when healthy."""

from __future__ import annotations

import re

import pytest

import engine
from engine.training.findings import diagnose

TRIGGERS = {
    "vanishing_gradients": {"hidden": "10x32", "activation": "sigmoid", "init": "standard", "steps": "200"},
    "exploding_gradients": {"hidden": "10x32", "activation": "relu", "init": "he_normal", "init_gain": "2",
                            "steps": "1"},
    "dead_units": {"activation": "relu", "lr": "10", "steps": "300"},
    "saturation": {"hidden": "4x32", "activation": "tanh", "init": "normal", "init_std": "1", "steps": "300"},
    "diverged": {"dataset": "sine", "lr": "10", "steps": "300"},
    "overfitting": {"samples": "60", "noise": "0.6", "hidden": "64,64", "optimizer": "adam", "lr": "0.01",
                    "steps": "800", "val_fraction": "0.5"},
    "lr_too_high": {"activation": "relu", "lr": "1", "steps": "600"},
    "lr_too_low": {"lr": "1e-5", "steps": "300"},
    "not_learning": {"lr": "1e-5", "steps": "300"},
    "loss_unstable": {"hidden": "6x64", "activation": "relu", "lr": "10", "steps": "300"},
    "sigmoid_drift": {"dataset": "digits", "batch_size": "10", "hidden": "4x256", "activation": "sigmoid",
                      "init": "standard", "steps": "1000", "probe_every": "50"},  # Glorot & Bengio's Fig. 2
}
HEALTHY = {
    "tanh-xavier-sgd": {"dataset": "moons", "init": "xavier_uniform", "lr": "0.1", "steps": "1000"},
    "relu-he-adam": {"dataset": "circles", "activation": "relu", "init": "he_normal", "optimizer": "adam",
                     "lr": "0.003", "steps": "1000"},
    # Batch norm makes the weights before it scale-free: big relative updates at lr 1 are healthy there.
    "relu-batchnorm-lr-1": {"dataset": "spiral", "hidden": "6x32", "activation": "relu", "init": "he_normal",
                            "norm": "batch", "lr": "1", "steps": "600", "probe_every": "20"},
}
LAYER_FINDINGS = {"vanishing_gradients", "exploding_gradients", "dead_units", "saturation", "sigmoid_drift"}


@pytest.mark.parametrize("code", sorted(TRIGGERS))
def test_finding_fires_with_layer_number_and_advice(code: str) -> None:
    result = engine.train(TRIGGERS[code])
    hits = [f for f in result.findings if f["code"] == code]
    assert hits, f"{code} did not fire; findings: {[f['code'] for f in result.findings]}"
    finding = hits[0]
    assert finding["run"] == "a"
    assert set(finding) == {"run", "code", "layer", "step", "message"}
    message = finding["message"]
    assert re.search(r"\d", message), "the message gives the number"
    assert "try" in message.lower(), "the message says what to try"
    if code in LAYER_FINDINGS:
        assert re.fullmatch(r"h\d+", finding["layer"])
        assert finding["layer"] in message
    assert result.summary["findings"] == result.findings


@pytest.mark.parametrize("name", sorted(HEALTHY))
def test_healthy_run_has_no_findings(name: str) -> None:
    result = engine.train(HEALTHY[name])
    assert result.summary["runs"][0]["final"]["val_accuracy"] > 0.95
    assert result.findings == []


def test_findings_are_per_run_in_a_group() -> None:
    mapping = {**TRIGGERS["vanishing_gradients"], "b.activation": "relu", "b.init": "he_normal"}
    result = engine.train(mapping)
    codes = {(f["run"], f["code"]) for f in result.findings}
    assert ("a", "vanishing_gradients") in codes
    assert ("b", "vanishing_gradients") not in codes


def test_vanishing_reads_the_ratio_at_the_latest_step_from_tables() -> None:
    """Diagnose works on tables alone (e.g. read back from CSV), with the ratio it reports."""
    result = engine.train(TRIGGERS["vanishing_gradients"])
    layers, scalars = result.layers, result.scalars
    last = layers["step"].max()
    grads = layers[(layers["step"] == last) & (layers["stat"] == "grad_preact_rms")].set_index("layer")["value"]
    ratio = grads["h1"] / grads["h10"]
    assert ratio < 0.01
    findings = diagnose(result.config, scalars, layers, ["finished"], [200], [None], 0.693, 200)
    message = next(f.message for f in findings if f.code == "vanishing_gradients")
    assert f"{ratio:.2g}" in message
