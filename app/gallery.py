"""The Gallery: every preset as a card, grouped by topic; one click opens it ready to train.

A card shows the preset's title, its one-line lesson, how many runs it compares and a tiny chart of
the quantity the lesson is about (one of its key chart's quantities: Preset.card_quantity) from a
precomputed short run (presets/previews.json, written by `python -m engine previews`). A one-run
preset opens on the Playground, a comparison on the Compare page, a Word vectors preset (page: words) on
its own page, all through `?preset=ID`, so the page loads the preset exactly as a shared link would.
"""

from __future__ import annotations

import streamlit as st

from app.charts import run_color
from app.charts.words import words_card_figure
from app.pages import COMPARE, GALLERY, PLAYGROUND, SEARCH, WORDS, Page
from app.plain_text import plain
from app.preview_charts import CONFIG, caption, preview_figure
from engine.lessons.presets import TOPICS, Preset, all_presets
from engine.lessons.previews import preview_hash, read_previews
from engine.search.presets import SEARCH_PAGE, search_of
from engine.vocabulary.group import GroupConfig
from engine.words.charts import WORDS_CURVES
from engine.words.config import WordsGroup, parse_words
from engine.words.presets import WORDS_PAGE, WORDS_TOPIC

SCOPE = GALLERY.prefix  # of the cards' keys; a card's class stays st-key-gallery-card-ID
COLUMNS = 3
TOPIC_TITLES = {  # engine.lessons.presets.TOPICS in plain words, in the same order
    "gradients": "Gradients that vanish or explode",
    "activations": "Activation functions: saturation and dead units",
    "initialization": "Where the weights start",
    "normalization": "Normalization",
    "regularization": "Overfitting, and what holds it back",
    "optimization": "Learning rates and optimizers",
    "data": "Preparing the data",
    "depth": "Depth and width",
    "debugging": "Debugging a net that does not learn",
    "pretraining": "Pre-training: greedy, layer by layer, before the labels",
    "hyperparameters": "Choosing hyperparameters",
    WORDS_TOPIC: "Word vectors: skip-gram and CBOW",
}


@st.cache_data(show_spinner=False)
def _presets() -> list[Preset]:
    return all_presets(every_page=True)


@st.cache_data(show_spinner=False)
def stored_previews() -> dict:
    """presets/previews.json, read once per server."""
    return read_previews()


def page_for(preset: Preset) -> Page:
    """The page a preset opens on: a comparison needs the Compare page; a search the Search page; a words
    preset its own page."""
    if preset.page == SEARCH_PAGE:
        return SEARCH
    if preset.page == WORDS_PAGE:
        return WORDS
    return PLAYGROUND if len(preset.group().runs) == 1 else COMPARE


def by_topic(presets: list[Preset]) -> list[tuple[str, list[Preset]]]:
    """(topic, its presets by title) in TOPICS order, topics without a preset left out."""
    groups = [(topic, sorted((p for p in presets if p.topic == topic), key=lambda p: p.title.lower()))
              for topic in TOPICS]
    return [(topic, members) for topic, members in groups if members]


def _runs_text(preset: Preset) -> str:
    if preset.page == SEARCH_PAGE:  # a search: no group, no stored preview (engine/lessons/previews.py)
        spec = search_of(preset)
        return f"a {spec.method} search · {spec.trials} trials over {', '.join(spec.space)}"
    group = _group_of(preset)
    runs = len(group.runs)
    what = "one run" if runs == 1 else f"{runs} runs compared"
    if preset.page == WORDS_PAGE:
        return f"{what} · {group.base.epochs} epochs of the {group.base.corpus} corpus"
    return f"{what} · {group.base.steps:,} steps"


def _group_of(preset: Preset) -> GroupConfig | WordsGroup:
    return parse_words(preset.config) if preset.page == WORDS_PAGE else preset.group()


def _run_labels(preset: Preset) -> str:
    """The runs' labels in their colours: the chart's legend, kept out of the chart."""
    group = _group_of(preset)
    return " &nbsp; ".join(f"<span style='color:{run_color(run_id)};font-size:0.85rem;white-space:nowrap'>"
                           f"● {plain(label)}</span>" for run_id, label in zip(group.ids, group.labels))


def _card(preset: Preset, preview: dict | None) -> None:
    with st.container(border=True, key=f"{SCOPE}card-{preset.id}"):
        st.markdown(f"**{preset.title}**")
        st.markdown(preset.lesson)
        st.caption(_runs_text(preset))
        if preset.page == SEARCH_PAGE:
            st.caption("A search trains its trials when you start it: it has no stored preview.")
        else:
            st.markdown(_run_labels(preset), unsafe_allow_html=True)
            _preview(preset, preview)
        page = page_for(preset)
        st.page_link(page.script, label=f"Open on {page.called}", icon=page.icon, query_params={"preset": preset.id})


def _preview(preset: Preset, preview: dict | None) -> None:
    if preview is None:
        st.caption("No preview yet: `python -m engine previews` draws one.")
        return
    quantity = preset.card_quantity
    words = preset.page == WORDS_PAGE
    figure = words_card_figure(preview, quantity) if words else preview_figure(preview, quantity)
    st.plotly_chart(figure, key=f"{SCOPE}preview-{preset.id}", config=CONFIG, theme=None)
    st.caption(f"{WORDS_CURVES[quantity]} over the steps." if words else caption(quantity))
    if preview.get("hash") != preview_hash(preset):
        st.caption("This preview was made from an earlier version of the preset.")


def render() -> None:
    st.title(GALLERY.title)
    st.markdown("Each card is a small experiment with one lesson. Open one: its runs are set up on "
                f"{PLAYGROUND.called}, {COMPARE.called}, {SEARCH.called} or {WORDS.called}, ready to train, "
                "with the chart its story is about at the top. The card's chart is that chart's quantity from a short "
                "stored run, in the runs' colours.")
    previews = stored_previews()
    for topic, presets in by_topic(_presets()):
        st.subheader(TOPIC_TITLES.get(topic, topic.capitalize()))
        for start in range(0, len(presets), COLUMNS):
            for column, preset in zip(st.columns(COLUMNS), presets[start:start + COLUMNS]):
                with column:
                    _card(preset, previews.get(preset.id))
