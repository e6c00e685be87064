"""Where each key has any effect: the one table (`APPLIES_WHEN`) that the sidebar, the Compare page's notes
and anything that warns of an ignored key read.

Most keys always matter; a few only with certain values of another key (the leak slope only with leaky_relu,
momentum only with the momentum optimizers). tests/test_applies.py checks every entry against the engine: a
key changes training exactly where the table says it applies.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, get_args

from engine.vocabulary.config import INITS, Dataset, RunConfig

_ALL_BUT_DIGITS = frozenset(get_args(Dataset)) - {"digits"}  # digits has its fixed 1,797 points, no noise
# (the key it depends on, that key's values where it has an effect); every other key always has one. The
# sidebar shows a key only where it applies (a hidden key keeps its value); runs that differ only in keys
# that do not apply train alike.
APPLIES_WHEN: dict[str, tuple[str, frozenset[str]]] = {
    "samples": ("dataset", _ALL_BUT_DIGITS),
    "noise": ("dataset", _ALL_BUT_DIGITS),
    "leak": ("activation", frozenset({"leaky_relu"})),
    "init_std": ("init", frozenset({"normal", "uniform"})),
    "init_gain": ("init", frozenset(INITS) - {"zeros"}),  # any gain times zero is zero
    "momentum": ("optimizer", frozenset({"momentum", "nesterov"})),
    "pretrain_epochs": ("pretrain", frozenset({"autoencoder", "rbm"})),
    "pretrain_lr": ("pretrain", frozenset({"autoencoder", "rbm"})),
    "corruption": ("pretrain", frozenset({"autoencoder"})),
    "cd_k": ("pretrain", frozenset({"rbm"})),
    "persistent": ("pretrain", frozenset({"rbm"})),
}


def applies(key: str, settings: RunConfig | Mapping[str, Any]) -> bool:
    """Whether `key` has any effect on a run with these settings (a config, or values by key)."""
    if key not in APPLIES_WHEN:
        return True
    depends_on, values = APPLIES_WHEN[key]
    current = getattr(settings, depends_on) if isinstance(settings, RunConfig) else settings[depends_on]
    return current in values


def applies_text(key: str) -> str:
    """Where a key applies, in words: "only with activation leaky_relu", "not with dataset digits"."""
    if key not in APPLIES_WHEN:
        return "always"
    depends_on, values = APPLIES_WHEN[key]
    choices = get_args(RunConfig.model_fields[depends_on].annotation)
    excluded = [c for c in choices if c not in values]
    if len(excluded) < len(values):
        return f"not with {depends_on} {' or '.join(excluded)}"
    return f"only with {depends_on} {' or '.join(c for c in choices if c in values)}"


def ignored_keys(config: RunConfig) -> list[str]:
    """The keys set away from their default that have no effect on this run."""
    default = RunConfig()
    return [key for key in APPLIES_WHEN if not applies(key, config) and getattr(config, key) != getattr(default, key)]


def effective(config: RunConfig) -> RunConfig:
    """The config as it trains: every key that does not apply at its default (equal effective configs train
    alike)."""
    default = RunConfig()
    return config.model_copy(update={key: getattr(default, key) for key in ignored_keys(config)})
