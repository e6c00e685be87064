"""The Guide page: a worked example first (every chart from a real run, sick next to healthy), then every
chart, statistic, choice and finding in plain words, tied to the lectures' ideas."""

from __future__ import annotations

import streamlit as st

from app import guide_example
from app.help_texts import FINDING_TITLES, FIXES, GUIDE_CHARTS, STAT_MEANINGS
from app.pages import GUIDE
from engine.lessons.charts import flat_tails
from engine.training.findings import FINDING_DEFINITIONS
from engine.training.probes import STATS
from engine.training.verdict import VERDICT_DEFINITIONS
from engine.vocabulary.config import CHOICE_DESCRIPTIONS

# The page's own sections, after the worked example's chart sections (guide_example.SECTION_NAMES).
ANCHORS = {"worked-example": "A worked example", "charts": "The charts", "statistics": "The statistics",
           "choices": "The choices", "findings": "Findings"}


def findings_table() -> dict[str, list[str]]:
    """Every finding the engine can emit, by code, with its title and its one-sentence definition."""
    return {"finding": list(FINDING_DEFINITIONS), "name": [FINDING_TITLES[code] for code in FINDING_DEFINITIONS],
            "what it means": list(FINDING_DEFINITIONS.values())}


def verdicts_table() -> dict[str, list[str]]:
    """How an ended run is summed up in one sentence: each outcome with its definition."""
    return {"verdict": list(VERDICT_DEFINITIONS), "what it means": list(VERDICT_DEFINITIONS.values())}


def render() -> None:
    st.title(GUIDE.title)
    st.markdown(
        "Layerscope trains small deep nets and measures every layer while they train, so you can see why deep "
        "nets are hard to train: units saturate, ReLUs die, gradients vanish or explode with depth. Then change "
        "one thing (initialization, activation, batch norm, dropout, weight decay, optimizer) and watch the cure."
    )
    st.markdown(" · ".join(f"[{title}](#{anchor})" for anchor, title in ANCHORS.items()))
    st.header(ANCHORS["worked-example"], anchor="worked-example")
    guide_example.render()
    st.header(ANCHORS["charts"], anchor="charts")
    for title, text in GUIDE_CHARTS:
        st.subheader(title)
        st.markdown(text)
    st.header(ANCHORS["statistics"], anchor="statistics")
    st.markdown("Measured per hidden layer (h1 nearest the input) at every probe step. The activations, "
                "saturation, dead units and their histograms are measured on a fixed probe set: the same training "
                "points at every probe, so a change is the net's, not the luck of one batch. The gradients and the "
                "update ratio are those of the minibatch the update used. z is the layer's linear output Wx + b, "
                "s the input to the activation, a = f(s) its output.")
    st.table({"stat": list(STATS), "meaning": [STAT_MEANINGS[s] for s in STATS]})
    st.header(ANCHORS["choices"], anchor="choices")
    st.markdown("Every activation, initialization and update rule the sidebar offers, described where it is "
                "defined in the engine. Where an activation is flat, its slope is below 5% of its largest slope and "
                "almost no gradient passes: sigmoid and tanh in both tails (saturated), relu and its relatives on "
                "their negative side (inactive), linear nowhere.")
    for key, title in (("activation", "Activations"), ("init", "Initializations"), ("optimizer", "Update rules")):
        st.subheader(title)
        described = CHOICE_DESCRIPTIONS[key]
        table = {key: list(described), "what it does": list(described.values())}
        if key == "activation":
            table["flat where"] = [flat_tails(name) for name in described]
        st.table(table)
    st.header(ANCHORS["findings"], anchor="findings")
    st.markdown("The engine's diagnoses, each defined in one sentence. On the Playground and the Compare page a "
                "finding also names its layer and step, gives its numbers and says what to try.")
    st.table(findings_table())
    st.markdown("Once a run has ended, one sentence sums it up instead: it learned (with its validation accuracy), "
                "underfits, overfits or diverged.")
    st.table(verdicts_table())
    st.markdown(FIXES)
