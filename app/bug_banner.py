"""The banner of a planted bug: shown wherever a group with one is set up to train, so no bug is on silently."""

from __future__ import annotations

import streamlit as st

from app.plain_text import plain
from engine.debugging.banner import planted_lines
from engine.vocabulary.group import GroupConfig


def show(group: GroupConfig | None) -> None:
    for line in planted_lines(group) if group is not None else []:
        st.error(plain(line), icon=":material/bug_report:")
