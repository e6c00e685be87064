"""The Guide page: every chart and statistic in plain words, tied to the lectures' ideas."""

from __future__ import annotations

import streamlit as st

from app.help_texts import FIXES, GUIDE_CHARTS, STAT_MEANINGS
from app.pages import GUIDE
from engine.training.findings import FINDING_CODES
from engine.training.probes import STATS
from engine.vocabulary.config import CHOICE_DESCRIPTIONS, SATURATING_ACTIVATIONS


def render() -> None:
    st.title(GUIDE.title)
    st.markdown(
        "Layerscope trains small deep nets and measures every layer while they train, so you can see why deep "
        "nets are hard to train: units saturate, ReLUs die, gradients vanish or explode with depth. Then change "
        "one thing (initialization, activation, batch norm, dropout, weight decay, optimizer) and watch the cure."
    )
    st.header("The charts")
    for title, text in GUIDE_CHARTS:
        st.subheader(title)
        st.markdown(text)
    st.header("The statistics")
    st.markdown("Measured per hidden layer (h1 nearest the input) on the training batch at every probe step. "
                "z is the layer's linear output Wx + b, s the input to the activation, a = f(s) its output.")
    st.table({"stat": list(STATS), "meaning": [STAT_MEANINGS[s] for s in STATS]})
    st.header("The choices")
    st.markdown("Every activation, initialization and update rule the sidebar offers, described where it is "
                "defined in the engine. A saturating activation has flat tails: there its slope is below 5% of "
                "its largest slope and almost no gradient passes.")
    for key, title in (("activation", "Activations"), ("init", "Initializations"), ("optimizer", "Update rules")):
        st.subheader(title)
        described = CHOICE_DESCRIPTIONS[key]
        table = {key: list(described), "what it does": list(described.values())}
        if key == "activation":
            table["saturates"] = ["yes" if name in SATURATING_ACTIVATIONS else "no" for name in described]
        st.table(table)
    st.header("Findings")
    st.markdown(", ".join(f"`{code}`" for code in FINDING_CODES))
    st.markdown(FIXES)
