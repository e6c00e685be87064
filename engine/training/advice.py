"""What a finding suggests trying, built from the run's own config: never what the run already uses.

Each finding names a few remedies. A remedy is a change of config keys (`{"norm": "batch"}`) or, where no key
says it, a phrase ("fewer layers"). The advice drops every remedy the run already has (an init of the same
family counts as the same: he_uniform for he_normal) and names only the keys the run does not have yet, so a
he_normal run that loses its ReLU units is not told to try he_normal.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from engine.nets import activations
from engine.vocabulary.config import RunConfig


@dataclass(frozen=True)
class Remedy:
    changes: dict[str, Any] = field(default_factory=dict)  # config keys and the values to try
    phrase: str = ""  # for a remedy no key says ("fewer layers")
    helps: Callable[[RunConfig], bool] = lambda config: True  # a phrase's remedy can be useless for a run


def fmt(x: float) -> str:
    """A number as a message shows it: 3 significant digits, 2 for very small or large values."""
    if x == 0 or not math.isfinite(x):
        return str(x)
    return f"{x:.2g}" if abs(x) < 1e-2 or abs(x) >= 1e4 else f"{x:.3g}"


def _family(init: str) -> str:
    return init.split("_")[0] if init.startswith(("xavier_", "he_")) else init


def _has(config: RunConfig, key: str, value: Any) -> bool:
    current = getattr(config, key)
    if key == "init":
        return _family(current) == _family(value)
    return current == value


def _words(key: str, value: Any) -> str:
    if key == "activation":
        return str(value)
    if key in ("init", "norm"):
        return f"{value} {key}"
    return f"{key}={fmt(value) if isinstance(value, float) else value}"


def fitting_init(activation: str) -> str:
    """The init made for the activation: Glorot's for squashing (and linear) units, He's for one-sided ones."""
    return "xavier_normal" if activation in activations.SATURATING or activation == "linear" else "he_normal"


def _lower_lr(c: RunConfig) -> Remedy:
    return Remedy({"lr": c.lr / 10})


def _fitting_init(c: RunConfig) -> Remedy:
    return Remedy({"init": fitting_init(c.activation)})


BATCH_NORM = Remedy({"norm": "batch"})
FEWER_LAYERS = Remedy(phrase="fewer layers", helps=lambda c: len(c.hidden) > 1)

# code -> the remedies to offer, in order, for a given run (values can depend on it: lr/10, init_gain/2)
REMEDIES: dict[str, Callable[[RunConfig], list[Remedy]]] = {
    "vanishing_gradients": lambda c: [Remedy({"activation": "relu", "init": "he_normal"}), BATCH_NORM,
                                      FEWER_LAYERS],
    "exploding_gradients": lambda c: [Remedy({"init_gain": c.init_gain / 2}), _fitting_init(c), BATCH_NORM],
    "dead_units": lambda c: [_lower_lr(c), Remedy({"activation": "leaky_relu"}), Remedy({"activation": "elu"}),
                             Remedy({"init": "he_normal"})],
    "saturation": lambda c: [Remedy({"init": "xavier_normal"}), BATCH_NORM, Remedy({"activation": "relu"})],
    "sigmoid_drift": lambda c: [Remedy({"activation": "tanh"}), Remedy({"activation": "relu", "init": "he_normal"}),
                                BATCH_NORM],
    "diverged": lambda c: [_lower_lr(c), _fitting_init(c), BATCH_NORM],
    "loss_unstable": lambda c: [_lower_lr(c), BATCH_NORM],
    "overfitting": lambda c: [Remedy({"dropout": min(0.9, round(c.dropout + 0.2, 2))}),
                              Remedy({"weight_decay": min(1.0, c.weight_decay * 10 or 1e-3)}),
                              Remedy(phrase="more samples", helps=lambda c: c.dataset != "digits"),
                              Remedy({"early_stopping": c.early_stopping or 5})],
    "lr_too_high": lambda c: [_lower_lr(c)],
    "lr_too_low": lambda c: [Remedy({"lr": min(10.0, c.lr * 10)})],
    "not_learning": lambda c: [Remedy(phrase="another learning rate"), _fitting_init(c), BATCH_NORM, FEWER_LAYERS],
}


def suggestions(code: str, config: RunConfig) -> list[str]:
    """The remedies for `code` that the run does not use yet, in words; keys it already has are left out."""
    said = []
    for remedy in REMEDIES[code](config):
        if remedy.phrase:
            if remedy.helps(config):
                said.append(remedy.phrase)
            continue
        new = {key: value for key, value in remedy.changes.items() if not _has(config, key, value)}
        if new:
            said.append(" with ".join(_words(key, value) for key, value in new.items()))
    return said


def advice(code: str, config: RunConfig) -> str:
    """'Try a, b or c.' for the run, or '' when it already uses every remedy."""
    said = suggestions(code, config)
    if not said:
        return ""
    listed = said[0] if len(said) == 1 else ", ".join(said[:-1]) + " or " + said[-1]
    return f"Try {listed}."
