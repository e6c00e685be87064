"""The landing: what Layerscope shows, three lessons to start with, then the Playground below.

Shown in full at the top of the Playground when it was opened with no link and has no job yet; once a
job exists or a link was given, it folds into one collapsed line, so it never pushes the charts down.
Not shown in the presenter view. A lesson opens as the Gallery opens it: `?preset=ID` on its page.
"""

from __future__ import annotations

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from app import run_panel
from app.gallery import page_for
from app.links import Link, preset_named
from engine.lessons.presets import Preset
from engine.vocabulary.config import RunConfig, format_hidden
from engine.vocabulary.group import GroupConfig

STARTERS = ("vanishing-sigmoid", "dying-relu", "batchnorm-rescue")  # preset ids, in the order shown
WHAT_IT_SHOWS = (
    "**Layerscope trains small deep nets and shows, live and layer by layer, what happens inside them:** "
    "the activations and the gradients of every layer while the net learns. Watch sigmoid and tanh units "
    "saturate, ReLUs die and gradients vanish on their way down to the first layers, then see what "
    "initialization, the activation function, batch norm and the optimizer do about it."
)
FOLDED = "What Layerscope shows · start with a lesson"


def starters() -> list[Preset]:
    return [preset_named(preset_id) for preset_id in STARTERS]


def link_given(scope: str) -> bool:
    """Whether the page's last link set anything: a config, a preset, locks, a view, or keys it had to refuse."""
    state = st.session_state
    link = state.get(f"{scope}link")
    return (link is not None and link != Link(group=GroupConfig.single())) or bool(state.get(f"{scope}link_problems"))


def show(place: DeltaGenerator, scope: str, present: bool) -> None:
    """Fill `place` (a container at the page's top, filled after the controls have read Train): the landing
    in full on a fresh page, folded when a job exists or a link was given, nothing in the presenter view."""
    if present:
        return
    with place:
        if run_panel.job_id(scope) is None and not link_given(scope):
            _landing()
        else:
            with st.expander(FOLDED, expanded=False):
                _landing()


def _landing() -> None:
    st.markdown(WHAT_IT_SHOWS)
    st.markdown("**Start with a lesson**")
    for column, preset in zip(st.columns(len(STARTERS)), starters()):
        page = page_for(preset)
        with column.container(border=True):
            st.page_link(page.script, label=preset.title, icon=page.icon, query_params={"preset": preset.id},
                         help=f"Opens on {page.called}, ready to train")
            st.caption(preset.lesson)
    default = RunConfig()
    st.markdown(f"**Or set up your own net** in the sidebar and press **Train** below. The default, a "
                f"{format_hidden(default.hidden)} {default.activation} net on the {default.dataset}, learns it "
                f"within its {default.steps:,} steps.")
