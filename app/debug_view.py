"""The Debug page's own link keys: which check it shows (`check`) and the precision of its error-against-h
chart (`precision`), so every view of the page has a link.

They are not vocabulary keys, so they are taken out of the address bar before app/address_bar.py reads the
config from it (which would call them unknown), checked here (a bad value warns, naming the key, the value
and what is allowed, and falls back to the default), and written back after it; a default is left out of the
link. As for the config, the page loads them only when the address bar holds a link it did not write itself.
"""

from __future__ import annotations

import streamlit as st

from app.pages import DEBUG

SCOPE = DEBUG.prefix
VIEWS: dict[str, tuple[str, ...]] = {  # key -> its values, the default first
    "check": ("gradient", "sanity"),
    "precision": ("float64", "float32"),
}
WRITTEN = f"{SCOPE}view_written"


def widget_key(name: str) -> str:
    return f"{SCOPE}view.{name}"


def take_from_link() -> dict[str, str]:
    """The page's own keys in the address bar, removed from it."""
    given = {}
    for name in VIEWS:
        if name in st.query_params:
            given[name] = st.query_params[name]
            del st.query_params[name]
    return given


def load(given: dict[str, str], new_link: bool) -> list[str]:
    """Seed the view widgets from a link the page did not write (a new link sets every view key, defaults for
    those it lacks); return a line per bad value."""
    if not new_link and given == st.session_state.get(WRITTEN, {}):
        return []
    problems = []
    for name, values in VIEWS.items():
        value = given.get(name, values[0] if new_link else st.session_state.get(widget_key(name), values[0]))
        if value not in values:
            problems.append(f"{name}: got {value[:40]!r}: no such view of the Debug page "
                            f"(allowed: {' or '.join(values)})")
            value = values[0]
        st.session_state[widget_key(name)] = value
    return problems


def current(name: str) -> str:
    value = st.session_state.get(widget_key(name))
    return value if value in VIEWS[name] else VIEWS[name][0]


def write() -> dict[str, str]:
    """Put the view keys that differ from their defaults back into the address bar; returns them."""
    shown = {name: current(name) for name, values in VIEWS.items() if current(name) != values[0]}
    for name, value in shown.items():
        st.query_params[name] = value
    st.session_state[WRITTEN] = shown
    return shown
