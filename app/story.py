"""The story of the preset in use, above a page's charts: what to watch, why, what to try next."""

from __future__ import annotations

import html

import streamlit as st

from app.links import preset_named


def show_story(preset_id: str | None, *, present: bool = False) -> None:
    preset = preset_named(preset_id) if preset_id else None
    if preset is None:
        return
    with st.container(border=True):
        if present:  # read from the back of a room
            st.markdown(f"<div style='font-size:1.9rem;font-weight:700'>{html.escape(preset.title)}</div>"
                        f"<div style='font-size:1.35rem;line-height:1.5'>{html.escape(preset.story)}</div>",
                        unsafe_allow_html=True)
        else:
            st.markdown(f"**Lesson: {preset.title}** · preset `{preset.id}`")
            st.markdown(preset.story)
