"""The Compare page's runs: run a is the sidebar's config; runs b-d each change chosen keys of it.

A run b-d is a set of overrides, exactly as a link writes it (`b.activation=relu`): the keys it
changes, each with its own widget, and an optional label. A new run starts as a copy of run a; a key
chosen for a run starts at run a's value; keys shared by the whole group (the data, batch size,
steps, probe_every) are set once, in the sidebar. Widget state lives under `compare.<run>.`. A run that
would train exactly like another (a fresh copy, or one that changes only keys that do not apply) says so.
"""

from __future__ import annotations

import streamlit as st

from app.layout import run_heading
from app.pages import COMPARE
from app.sidebar import config_from_widgets, load_into_widgets, widget, widget_key, widget_value
from engine.vocabulary.applies import applies, applies_text, effective
from engine.vocabulary.config import (
    GROUP_KEYS,
    MAX_RUNS,
    RUN_IDS,
    Problem,
    RunConfig,
    all_keys,
    key_label,
    render_run,
)
from engine.vocabulary.group import MAX_LABEL, GroupConfig, parse_label

SCOPE = COMPARE.prefix
BASE = f"{SCOPE}a.config."  # run a's widgets (the sidebar)
RUNS = f"{SCOPE}runs"  # the ids of runs b-d on the page, in order
VARIANT_KEYS = [key for key in all_keys() if key not in GROUP_KEYS]


def _prefix(run_id: str) -> str:
    return f"{SCOPE}{run_id}.config."


def _keys_key(run_id: str) -> str:
    return f"{SCOPE}{run_id}.keys"


def _fixed_key(run_id: str) -> str:
    return f"{SCOPE}{run_id}.locked_keys"  # keys the link changes for this run and locks


def _label_key(run_id: str) -> str:
    return f"{SCOPE}{run_id}.label"


def _clear(run_id: str) -> None:
    state = st.session_state
    for key in [k for k in state if str(k).startswith(f"{SCOPE}{run_id}.") and not str(k).endswith(".remove")]:
        del state[key]


def load(group: GroupConfig) -> None:
    """Seed every widget of the page from a group (a link, a preset, the Playground's Compare with…)."""
    state = st.session_state
    for run_id in RUN_IDS[1:]:
        _clear(run_id)
    load_into_widgets(group.base, BASE)
    state[_label_key("a")] = group.labels[0] if group.labels[0] != "a" else ""
    state[RUNS] = list(group.ids[1:])
    for run_id, run, label in zip(group.ids[1:], group.runs[1:], group.labels[1:]):
        changed = list(render_run(run, base=group.base))
        state[_keys_key(run_id)] = changed
        state[_label_key(run_id)] = label if label != run_id else ""
        for key in changed:
            state[widget_key(key, _prefix(run_id))] = widget_value(run, key)


def add_run() -> None:
    """A new run: the next free id, a copy of run a until keys are chosen."""
    ids = st.session_state.setdefault(RUNS, [])
    free = [run_id for run_id in RUN_IDS[1:] if run_id not in ids]
    if free:
        _clear(free[0])
        ids.append(free[0])


def _remove_run(run_id: str) -> None:
    st.session_state[RUNS] = [r for r in st.session_state.get(RUNS, []) if r != run_id]
    _clear(run_id)


def _label(run_id: str) -> tuple[str, list[str]]:
    text = st.text_input("label", key=_label_key(run_id), max_chars=MAX_LABEL, placeholder=run_id,
                         persist_state="session", help="A name for this run in every chart (optional).")
    problems: list[Problem] = []
    label = parse_label(run_id, text.strip() or None, problems)
    return label, [str(p) for p in problems]


def _variant(run_id: str, base: RunConfig, locked: set[str]) -> tuple[RunConfig | None, str, list[str]]:
    """One run's editor: its label, the keys it changes and their widgets. Returns (config, label, errors).
    A locked key the run changes stays changed, read-only; a locked key it does not change cannot be added."""
    state = st.session_state
    run_heading(run_id, f"run {run_id}", size="1.1rem")
    label, errors = _label(run_id)
    fixed = [key for key in state.get(_keys_key(run_id), []) if key in locked]
    if fixed:
        state[_keys_key(run_id)] = [key for key in state[_keys_key(run_id)] if key not in locked]
        state[_fixed_key(run_id)] = fixed
    fixed = state.get(_fixed_key(run_id), [])
    options = [key for key in VARIANT_KEYS if key not in locked]
    chosen = st.multiselect("keys it changes", options, key=_keys_key(run_id), persist_state="session",
                            format_func=key_label,
                            placeholder="a copy of run a: choose keys to change",
                            help="Each chosen key starts at run a's value. Data, batch size, steps and "
                                 "probe_every are shared by every run: set them in the sidebar.")
    prefix = _prefix(run_id)
    for key in VARIANT_KEYS:  # a key taken off the list starts again from run a's value when chosen again
        if key not in chosen and key not in fixed:
            state.pop(widget_key(key, prefix), None)
    values = {}
    for key in [*fixed, *chosen]:
        state.setdefault(widget_key(key, prefix), widget_value(base, key))
        values[key] = widget(key, locked=key in fixed, prefix=prefix)
    config, config_errors = config_from_widgets(values, base=base, run_prefix=f"{run_id}.")
    for key in [*fixed, *chosen]:
        if config is not None and not applies(key, config):
            st.caption(f"{key} has no effect on this run: it applies {applies_text(key)}.")
    st.button(f"Remove run {run_id}", key=f"{SCOPE}{run_id}.remove", on_click=_remove_run, args=(run_id,))
    return config, label, errors + config_errors


def twin_note(run_id: str, config: RunConfig, earlier: dict[str, RunConfig | None]) -> str | None:
    """What to say when run `run_id` would train exactly like an earlier run: identical, or different only in
    keys that do not apply to either (they train alike: engine/vocabulary/applies.py)."""
    for other_id, other in earlier.items():
        if other is None or effective(config) != effective(other):
            continue
        if config == other:
            return f"Run {run_id} is identical to run {other_id}: choose a key it changes."
        keys = [key for key in all_keys() if getattr(config, key) != getattr(other, key)]
        return (f"Run {run_id} trains exactly like run {other_id}: it differs only in {', '.join(keys)}, which "
                f"{'has' if len(keys) == 1 else 'have'} no effect on either.")
    return None


def render_runs(base: RunConfig | None, locked: set[str] = frozenset()) -> tuple[GroupConfig | None, list[str]]:
    """The runs editor, one column per run. Returns the group (None while any run does not parse) and
    the errors, each naming its key with the run's prefix (`c.lr`)."""
    ids = st.session_state.setdefault(RUNS, [])
    columns = st.columns(MAX_RUNS)
    with columns[0]:
        run_heading("a", "run a", size="1.1rem")
        label_a, errors = _label("a")
        st.caption("Run a is the setup in the sidebar. Every other run changes some of its keys.")
        if len(ids) < MAX_RUNS - 1:
            st.button("Add a run", on_click=add_run, key=f"{SCOPE}add", icon=":material/add:",
                      help="A new run starts as a copy of run a")
    runs, labels = [base], [label_a]
    for column, run_id in zip(columns[1:], ids):
        with column, st.container(border=True):
            config, label, run_errors = _variant(run_id, base or RunConfig(), locked)
            note = twin_note(run_id, config, dict(zip(("a", *ids), runs))) if config is not None else None
            if note:
                st.info(note)
        runs.append(config)
        labels.append(label)
        errors += run_errors
    if base is None or any(run is None for run in runs):
        return None, errors
    return GroupConfig(runs=tuple(runs), labels=tuple(labels), ids=("a", *ids)), errors
