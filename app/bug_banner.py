"""The banner of a planted bug: shown wherever a group with one is set up to train, so no bug is on silently,
with a link that opens the buggy run on the Debug page, where the checks meant for it run."""

from __future__ import annotations

import streamlit as st

from app.links import link_params
from app.pages import DEBUG
from app.plain_text import plain
from engine.debugging.banner import planted_lines
from engine.vocabulary.group import GroupConfig


def show(group: GroupConfig | None, *, link: bool = True) -> None:
    if group is None:
        return
    for line in planted_lines(group):
        st.error(plain(line), icon=DEBUG.icon)
    buggy = [run for run in group.runs if run.bug != "none"]
    if link and buggy:
        st.page_link(DEBUG.script, label=f"Check it on {DEBUG.called}", icon=DEBUG.icon,
                     query_params=link_params(GroupConfig.single(buggy[0])))
