"""A page's address bar: the link it was opened with, and the minimal link of what it shows now.

A page loads the address bar's link when it holds one the page did not write itself: the first visit,
a shared link, another page's "Compare with…", a Gallery card. Coming back through the menu (which
clears the address bar) keeps what the page had, and the page writes its link again. What a link set
besides the config (the preset in use, locked keys, the presenter view) stays with the page and in
its link. Each page keeps its own under its session-key prefix, `scope` (app/pages.py).
"""

from __future__ import annotations

from urllib.parse import quote, urlencode

import streamlit as st
from streamlit import config

from app.links import Link, link_params, read_link
from app.public_address import configured_root, public_page_url
from engine.vocabulary.group import GroupConfig


def _params() -> dict[str, list[str]]:
    return {key: st.query_params.get_all(key) for key in st.query_params}


def incoming(scope: str) -> Link | None:
    """The link to load on this run of the page, or None when the address bar holds nothing new. A new
    link also becomes the page's preset, locks and view, its problems (shown as one warning) and its
    autorun (acted on once by the run panel)."""
    params = _params()
    written = st.session_state.get(f"{scope}written")
    if written is not None and (not params or params == {k: [v] for k, v in written.items()}):
        return None
    link = read_link(params)
    state = st.session_state
    state[f"{scope}link"] = Link(group=link.group, preset=link.preset, lock=link.lock, view=link.view)
    state[f"{scope}link_problems"] = link.problem_lines()
    state[f"{scope}autorun"] = link.autorun
    return link


def current(scope: str) -> Link:
    """What the page's last link set: its preset, locks and view (the config itself lives in widgets)."""
    return st.session_state.get(f"{scope}link") or Link(group=GroupConfig.single())


def params_for(scope: str, group: GroupConfig, *, whole_group: bool = True) -> dict[str, str]:
    """The link of `group` on the page: relative to the preset in use, with the page's locks and view
    (`whole_group=False` for a page that shows run a only)."""
    link = current(scope)
    params = link_params(group, link.preset, whole_group=whole_group)
    if "preset" not in params and link.preset:  # the setup no longer reads as the preset plus changes
        st.session_state[f"{scope}link"] = Link(group=link.group, lock=link.lock, view=link.view)
    return {**params, **link.page_keys()}


def write(scope: str, group: GroupConfig, *, whole_group: bool = True) -> dict[str, str]:
    """Put the group's link in the address bar; returns its parameters."""
    params = params_for(scope, group, whole_group=whole_group)
    if st.session_state.get(f"{scope}written") != params or _params() != {k: [v] for k, v in params.items()}:
        st.query_params.from_dict(params)
    st.session_state[f"{scope}written"] = params
    return params


def share_url(params: dict[str, str]) -> str:
    """The page's full address with `params`: what a person copies to share the view, at the configured
    public address (app/public_address.py) when there is one."""
    manual = config.is_manually_set("browser.serverAddress")
    root = configured_root(server_address=st.get_option("browser.serverAddress") if manual else None,
                           server_port=st.get_option("browser.serverPort"))
    base = public_page_url((st.context.url or "").split("?")[0], root, st.get_option("server.baseUrlPath"))
    query = urlencode(params, quote_via=quote, safe=",")
    return f"{base}?{query}" if query else base
