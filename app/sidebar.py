"""The sidebar: one widget per vocabulary key, derived from the engine's config schema.

Types, choices, bounds, defaults and help texts all come from `engine.config.RunConfig`; this module
only decides the grouping and the kind of widget. Widget state lives in st.session_state under
`widget_key(key)`, seeded from a link or preset by `load_into_widgets`.
"""

from __future__ import annotations

from typing import Any, get_args

import streamlit as st

from engine.config import ConfigError, RunConfig, allowed_text, format_hidden, parse_hidden, parse_run

SECTIONS: dict[str, list[str]] = {
    "Data": ["dataset", "samples", "noise", "val_fraction", "standardize"],
    "Network": ["hidden", "activation", "leak", "norm"],
    "Initialization": ["init", "init_std", "init_gain", "seed"],
    "Training": ["optimizer", "lr", "momentum", "batch_size", "steps"],
    "Regularization": ["dropout", "weight_decay", "l1", "early_stopping"],
    "Probes": ["probe_every"],
}


def widget_key(key: str) -> str:
    return f"config.{key}"


def _bounds(key: str) -> tuple[Any, Any]:
    field = RunConfig.model_fields[key]
    lo = next((m.ge for m in field.metadata if hasattr(m, "ge")), None)
    hi = next((m.le for m in field.metadata if hasattr(m, "le")), None)
    return lo, hi


def load_into_widgets(config: RunConfig) -> None:
    """Seed every widget from a config (a link, a preset, a reset)."""
    for key in RunConfig.model_fields:
        value = getattr(config, key)
        st.session_state[widget_key(key)] = format_hidden(value) if key == "hidden" else value


def _widget(key: str, locked: bool) -> Any:
    field = RunConfig.model_fields[key]
    label, help_text, state_key = key, f"{field.description} Allowed: {allowed_text(key)}.", widget_key(key)
    choices = get_args(field.annotation)
    if key == "hidden":
        return st.text_input(label, key=state_key, help=help_text, disabled=locked)
    if choices and all(isinstance(c, str) for c in choices):
        return st.selectbox(label, choices, key=state_key, help=help_text, disabled=locked)
    if field.annotation is bool:
        return st.toggle(label, key=state_key, help=help_text, disabled=locked)
    lo, hi = _bounds(key)
    if field.annotation is int:
        return st.number_input(label, min_value=lo, max_value=hi, step=1, key=state_key, help=help_text,
                               disabled=locked)
    return st.number_input(label, min_value=float(lo), max_value=float(hi), key=state_key, help=help_text,
                           format="%g", step=_float_step(key), disabled=locked)


def _float_step(key: str) -> float:
    hi = _bounds(key)[1]
    return 0.01 if hi <= 1 else 0.1 if hi <= 10 else 1.0


def render_sidebar(locked: set[str] = frozenset()) -> tuple[RunConfig | None, list[str]]:
    """Draw every control; return the config they describe (None while `hidden` does not parse) and errors."""
    values: dict[str, Any] = {}
    errors: list[str] = []
    for section, keys in SECTIONS.items():
        with st.sidebar.expander(section, expanded=section in ("Network", "Training")):
            for key in keys:
                values[key] = _widget(key, key in locked)
    try:
        values["hidden"] = parse_hidden(values["hidden"])
    except ValueError as error:
        errors.append(f"hidden: got {values['hidden']!r}: {error} (allowed: {allowed_text('hidden')})")
        return None, errors
    try:
        return parse_run(values), errors
    except ConfigError as error:
        return None, [str(p) for p in error.problems]
