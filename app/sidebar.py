"""The sidebar: one widget per vocabulary key, derived from the engine's config schema.

Types, choices, bounds, defaults, help texts and labels in words all come from `engine.vocabulary.config.RunConfig`;
which keys apply when, from `engine.vocabulary.applies`; this module only decides the grouping and the kind
of widget. A key that does not apply is not drawn, and keeps its value. Widget state lives in st.session_state under
`widget_key(key, prefix)` (a prefix under the page's own, app/pages.py), seeded from a link or preset by
`load_into_widgets`, and kept for the whole session (`persist_state`), so leaving a page and coming
back finds it as it was.
"""

from __future__ import annotations

from typing import Any, get_args

import streamlit as st

from engine.vocabulary.applies import APPLIES_WHEN, applies, applies_text
from engine.vocabulary.config import (
    CHOICE_DESCRIPTIONS,
    ConfigError,
    RunConfig,
    allowed_text,
    format_hidden,
    key_label,
    parse_hidden,
    parse_run,
)

SECTIONS: dict[str, list[str]] = {
    "Data": ["dataset", "samples", "noise", "val_fraction", "test_fraction", "standardize", "labels"],
    "Network": ["hidden", "activation", "leak", "norm"],
    "Initialization": ["init", "init_std", "init_gain", "seed"],
    "Training": ["optimizer", "lr", "momentum", "batch_size", "steps"],
    "Regularization": ["dropout", "weight_decay", "l1", "early_stopping"],
    "Pre-training": ["pretrain", "pretrain_epochs", "pretrain_lr", "corruption", "cd_k", "persistent"],
    "Probes": ["probe_every"],
    "Debugging": ["bug"],  # a planted bug (engine/nets/bugs.py); every page shows a banner while one is on
}


LOCK_ICON = ":material/lock:"
LOCKED_BY_PRESENTER = "Locked by the presenter: this workshop's link makes it read-only (lock=...)."


def locked_note(locked: set[str]) -> str:
    """The sidebar's line about the link's locked keys (keys of the vocabulary, so plain words)."""
    return f"{LOCK_ICON} Locked by the presenter: {', '.join(sorted(locked))}. The rest is yours to change."


def widget_key(key: str, prefix: str) -> str:
    return f"{prefix}{key}"


def _bounds(key: str) -> tuple[Any, Any]:
    field = RunConfig.model_fields[key]
    lo = next((m.ge for m in field.metadata if hasattr(m, "ge")), None)
    hi = next((m.le for m in field.metadata if hasattr(m, "le")), None)
    return lo, hi


def widget_value(config: RunConfig, key: str) -> Any:
    """A config's value as its widget holds it (`hidden` as text)."""
    value = getattr(config, key)
    return format_hidden(value) if key == "hidden" else value


def load_into_widgets(config: RunConfig, prefix: str) -> None:
    """Seed every widget from a config (a link, a preset, a reset)."""
    for key in RunConfig.model_fields:
        st.session_state[widget_key(key, prefix)] = widget_value(config, key)


def help_text(key: str) -> str:
    """A widget's help: what the key does, what it accepts and, for some, where it applies."""
    where = f" Applies {applies_text(key)}." if key in APPLIES_WHEN else ""
    return f"{RunConfig.model_fields[key].description} Allowed: {allowed_text(key)}.{where}"


def widget(key: str, locked: bool, prefix: str) -> Any:
    """The widget of one vocabulary key, in the current container, labelled in words with the key beside them;
    a choice is explained under it. Returns its value."""
    field = RunConfig.model_fields[key]
    label, help_, state_key = key_label(key), help_text(key), widget_key(key, prefix)
    if locked:  # the link's lock=: say who locked it, on the control itself
        label, help_ = f"{label} {LOCK_ICON}", f"{LOCKED_BY_PRESENTER} {help_}"
    keep = {"key": state_key, "help": help_, "disabled": locked, "persist_state": "session"}
    choices = get_args(field.annotation)
    if key == "hidden":
        return st.text_input(label, **keep)
    if choices and all(isinstance(c, str) for c in choices):
        value = st.selectbox(label, choices, **keep)
        if key in CHOICE_DESCRIPTIONS:
            st.caption(CHOICE_DESCRIPTIONS[key][value])
        return value
    if field.annotation is bool:
        return st.toggle(label, **keep)
    lo, hi = _bounds(key)
    if field.annotation is int:
        return st.number_input(label, min_value=lo, max_value=hi, step=1, **keep)
    return st.number_input(label, min_value=float(lo), max_value=float(hi), format="%g", step=_float_step(key),
                           **keep)


def _float_step(key: str) -> float:
    hi = _bounds(key)[1]
    return 0.01 if hi <= 1 else 0.1 if hi <= 10 else 1.0


def render_sidebar(locked: set[str] = frozenset(), *, prefix: str) -> tuple[RunConfig | None, list[str]]:
    """Draw the controls of every key that applies (the others keep their values, unseen); return the config
    they describe (None while it does not parse) and errors."""
    values: dict[str, Any] = {}
    if locked:
        st.sidebar.caption(locked_note(locked))
    for section, keys in SECTIONS.items():
        with st.sidebar.expander(section, expanded=section in ("Network", "Training")):
            for key in keys:  # a key's section lists what it depends on first (tests/test_app.py)
                if applies(key, values):
                    values[key] = widget(key, key in locked, prefix)
                else:
                    values[key] = st.session_state.get(widget_key(key, prefix), widget_value(RunConfig(), key))
    return config_from_widgets(values)


def config_from_widgets(values: dict[str, Any], base: RunConfig | None = None,
                        run_prefix: str = "") -> tuple[RunConfig | None, list[str]]:
    """The config that widget values describe (over `base`'s other keys), or None and the errors, each
    naming its key (`run_prefix` + key, e.g. c.lr) and what is allowed."""
    values = dict(values)
    if "hidden" in values:
        try:
            values["hidden"] = parse_hidden(values["hidden"])
        except ValueError as error:
            return None, [f"{run_prefix}hidden: got {values['hidden']!r}: {error} "
                          f"(allowed: {allowed_text('hidden')})"]
    merged = {**base.model_dump(), **values} if base is not None else values
    try:
        return parse_run(merged, prefix=run_prefix), []
    except ConfigError as error:
        return None, [str(p) for p in error.problems]
