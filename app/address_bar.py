"""A page's address bar: the link it was opened with, and the minimal link of what it shows now.

A page loads the address bar's link when it holds one the page did not write itself: the first visit,
a shared link, another page's "Compare with…". Coming back through the menu (which clears the address
bar) keeps what the page had, and the page writes its link again.
"""

from __future__ import annotations

from urllib.parse import quote, urlencode

import streamlit as st

from app.links import Link, link_params, read_link
from engine.group import GroupConfig


def _params() -> dict[str, list[str]]:
    return {key: st.query_params.get_all(key) for key in st.query_params}


def incoming(page: str) -> Link | None:
    """The link to load on this run of `page`, or None when the address bar holds nothing new."""
    params = _params()
    written = st.session_state.get(f"{page}.written")
    if written is not None and (not params or params == {k: [v] for k, v in written.items()}):
        return None
    return read_link(params)


def write(page: str, group: GroupConfig) -> dict[str, str]:
    """Put the group's minimal link in the address bar; returns its parameters."""
    params = link_params(group)
    if st.session_state.get(f"{page}.written") != params or _params() != {k: [v] for k, v in params.items()}:
        st.query_params.from_dict(params)
    st.session_state[f"{page}.written"] = params
    return params


def share_url(params: dict[str, str]) -> str:
    """The page's full address with `params`: what a person copies to share the view."""
    base = (st.context.url or "").split("?")[0]
    query = urlencode(params, quote_via=quote, safe=",")
    return f"{base}?{query}" if query else base
