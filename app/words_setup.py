"""The Word vectors page's setup: its sidebar widgets, the link in the address bar, and presets.

A link holds the minimal mapping of the words vocabulary (engine/words/config.py: keys that differ from the
defaults, `b.` keys for the second model), or `preset=ID` (a preset with page: words) plus the keys that differ
from it, and optionally `autorun=1`. Links are untrusted: each bad key falls back to its default and is named
with its value and what is allowed, in one warning; the rest applies.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from app.pages import WORDS
from engine.lessons.presets import load_preset
from engine.vocabulary.config import ConfigError, Problem, _shown
from engine.words.config import (
    MODEL_DESCRIPTIONS,
    SHARED_KEYS,
    WordsConfig,
    WordsGroup,
    parse_words,
    parse_words_lenient,
    render_words,
    words_keys,
)

SCOPE = WORDS.prefix
PER_RUN = [key for key in words_keys() if key not in SHARED_KEYS]  # what run b may change
PAGE_KEYS = ("preset", "autorun")
MAX_PROBLEMS = 8


def _key(run_id: str, key: str) -> str:
    return f"{SCOPE}{run_id}.config.{key}"


def _read_link(params: dict[str, str]) -> tuple[WordsGroup, str | None, bool, list[str]]:
    problems: list[Problem] = []
    preset_id = params.get("preset")
    mapping: dict[str, Any] = {}
    if preset_id:
        try:
            preset = load_preset(preset_id.strip())
            if preset.page != WORDS.url_path:
                raise ConfigError([Problem(key="preset", value=_shown(preset_id), message="not a Word vectors preset",
                                           allowed="a preset of the Gallery's Word vectors topic")])
            mapping.update(preset.config)
        except ConfigError as error:
            problems.extend(error.problems)
            preset_id = None
    mapping.update({k: v for k, v in params.items() if k not in PAGE_KEYS})
    group, bad = parse_words_lenient(mapping)
    lines = [str(p) for p in [*problems, *bad]]
    if len(lines) > MAX_PROBLEMS:
        lines = [*lines[:MAX_PROBLEMS], f"and {len(lines) - MAX_PROBLEMS:,} more problems, ignored"]
    autorun = params.get("autorun", "").strip().lower() in ("1", "true", "yes")
    return group, preset_id, autorun, lines


def _load(group: WordsGroup) -> None:
    """Put a group into the widgets."""
    state = st.session_state
    for key in words_keys():
        state[_key("a", key)] = getattr(group.base, key)
    state[f"{SCOPE}second_run"] = len(group.runs) > 1
    run_b = group.runs[1] if len(group.runs) > 1 else group.base
    for key in PER_RUN:
        state[_key("b", key)] = getattr(run_b, key)
    for run_id, label in zip(("a", "b"), (*group.labels, "b")[:2] if len(group.runs) > 1 else (group.labels[0], "b")):
        state[f"{SCOPE}{run_id}.label"] = "" if label == run_id else label


def _widget(run_id: str, key: str) -> None:
    field = WordsConfig.model_fields[key]
    label = f"{field.title} · {key}"
    wkey = _key(run_id, key)
    if key in ("corpus", "model"):
        options = list(field.annotation.__args__)
        st.selectbox(label, options, key=wkey, help=field.description)
        if key == "model":
            st.caption(MODEL_DESCRIPTIONS[st.session_state[wkey]])
        return
    lo = next(m.ge for m in field.metadata if hasattr(m, "ge"))
    hi = next(m.le for m in field.metadata if hasattr(m, "le"))
    if field.annotation is int:
        st.number_input(label, min_value=int(lo), max_value=int(hi), step=1, key=wkey, help=field.description)
    else:
        st.number_input(label, min_value=float(lo), max_value=float(hi), key=wkey, help=field.description,
                        format="%g", step=float(field.default) / 5 or 1e-4)


def setup() -> tuple[WordsGroup, str | None, bool]:
    """Read a new link (once), draw the sidebar, return the group the widgets say, the preset and autorun."""
    state = st.session_state
    params = {key: st.query_params.get(key, "") for key in st.query_params}
    autorun = False
    first = f"{SCOPE}preset" not in state
    # a link the page did not write itself (an empty address bar after a visit elsewhere keeps the setup)
    if first or (params and state.get(f"{SCOPE}written") != params):
        group, preset_id, autorun, lines = _read_link(params)
        _load(group)
        state[f"{SCOPE}preset"] = preset_id
        state[f"{SCOPE}link_problems"] = lines
    with st.sidebar:
        st.header("The text")
        for key in SHARED_KEYS:
            _widget("a", key)
        st.header("Run a")
        st.text_input("Label", key=f"{SCOPE}a.label", max_chars=40, placeholder="a")
        for key in PER_RUN:
            _widget("a", key)
        st.checkbox("Compare with a second model (run b)", key=f"{SCOPE}second_run")
        if state[f"{SCOPE}second_run"]:
            st.header("Run b")
            st.text_input("Label", key=f"{SCOPE}b.label", max_chars=40, placeholder="b")
            for key in PER_RUN:
                _widget("b", key)
    return _group(), state.get(f"{SCOPE}preset"), autorun


def _group() -> WordsGroup:
    state = st.session_state
    mapping: dict[str, Any] = {key: state[_key("a", key)] for key in words_keys()}
    if state[f"{SCOPE}a.label"].strip():
        mapping["label"] = state[f"{SCOPE}a.label"]
    if state[f"{SCOPE}second_run"]:
        mapping.update({f"b.{key}": state[_key("b", key)] for key in PER_RUN})
        mapping["b.label"] = state[f"{SCOPE}b.label"].strip() or "b"
    group, _ = parse_words_lenient(mapping)  # widgets hold only allowed values; a bad label falls back
    return group


def write_link(group: WordsGroup, preset_id: str | None) -> dict[str, str]:
    """Put the group's link in the address bar, relative to the preset while it still applies."""
    params = render_words(group)
    if preset_id:
        try:
            preset_params = render_words(parse_words(load_preset(preset_id).config))
        except ConfigError:
            preset_params = None
        if preset_params is not None:
            relative = {k: v for k, v in params.items() if preset_params.get(k) != v}
            undone = {k: _default_text(k, group) for k in preset_params.keys() - params.keys()}
            candidate = {"preset": preset_id, **relative, **undone}
            if _reads_back(candidate, group):
                params = candidate
        if "preset" not in params:  # the setup no longer reads as the preset plus changes: its story goes
            st.session_state[f"{SCOPE}preset"] = None
    state = st.session_state
    if state.get(f"{SCOPE}written") != params:
        st.query_params.from_dict(params)
        state[f"{SCOPE}written"] = params
    return params


def _default_text(key: str, group: WordsGroup) -> str:
    run_id, _, name = key.rpartition(".")
    run = group.runs[1] if run_id == "b" and len(group.runs) > 1 else group.base
    if name == "label":
        return group.labels[1] if run_id == "b" and len(group.labels) > 1 else group.labels[0]
    return str(getattr(run, name))


def _reads_back(params: dict[str, str], group: WordsGroup) -> bool:
    try:
        back, _, _, lines = _read_link(params)
    except ConfigError:
        return False
    return back == group and not lines

