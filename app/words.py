"""The Word vectors page: skip-gram or CBOW (or both, in lock-step) trained live on the planted corpus or the
Lee news corpus, with the map, analogy accuracy, nearest neighbours, histograms and one example taken apart.

Setup lives in the sidebar (app/words_setup.py: widgets, the link, presets). Training runs in the engine
(engine/words/live.py: a process per group beside the server, shared by every viewer of the same settings); this
page only reads its latest view, in a fragment that polls about once a second.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from app import words_setup
from app.charts.words import (
    analogy_figure,
    example_figure,
    hist_figure,
    loss_figure,
    map_figure,
    vector_figure,
    words_card_figure,
)
from app.gallery import stored_previews
from app.guard import guarded
from app.layout import chart, link_warning, run_heading
from app.links import preset_named
from app.pages import WORDS
from app.plain_text import plain
from app.preview_charts import CONFIG
from app.share import share_panel
from app.story import PREVIEW_HEIGHT, show_story
from engine.words.charts import WORDS_CHARTS, WORDS_CURVES
from engine.words.config import WordsGroup
from engine.words.explain import draw_negatives, explain
from engine.words.live import LiveLimitError, LiveWords, WordsView
from engine.words.probes import neighbours_of
from engine.words.projection import align, pca_2d

SCOPE = WORDS.prefix
MAP_WORDS = 400  # the most frequent words on the map (and every word of its arrows)
NEIGHBOURS = 6


def _live(group: WordsGroup) -> LiveWords | None:
    return LiveWords.find(group) if st.session_state.get(f"{SCOPE}started_group") == group else None


def _start(group: WordsGroup) -> None:
    """Start (or join) the group's run; this session's previous run, if another group's, stops: a session
    holds one run, so settings changed and trained again do not pile up runs on the server."""
    previous = st.session_state.get(f"{SCOPE}started_group")
    if previous is not None and previous != group:
        LiveWords.forget(previous)
    try:
        LiveWords.get_or_start(group)
        st.session_state[f"{SCOPE}started_group"] = group
        st.session_state.pop(f"{SCOPE}refused", None)
    except LiveLimitError as error:
        st.session_state[f"{SCOPE}refused"] = str(error)


def _controls(group: WordsGroup) -> LiveWords | None:
    live = _live(group)
    state = live.view.state if live else None
    columns = st.columns(4)
    if columns[0].button("Train" if live is None else "Train again", type="primary", key=f"{SCOPE}train"):
        if live is not None:
            LiveWords.forget(group)
        _start(group)
        live = _live(group)
        state = live.view.state if live else None
    if live is not None and state in ("running", "paused"):
        if state == "running":
            columns[1].button("Pause", key=f"{SCOPE}pause", on_click=guarded("pausing")(live.pause))
        else:
            columns[1].button("Resume", key=f"{SCOPE}resume", on_click=guarded("resuming")(live.resume))
        columns[2].button("One step", key=f"{SCOPE}step", on_click=guarded("stepping")(live.step_once),
                          help="Pause and train exactly one step: the example view below shows what it did.")
        columns[3].button("Stop", key=f"{SCOPE}stop", on_click=guarded("stopping")(live.stop))
    if st.session_state.get(f"{SCOPE}refused"):
        st.warning(st.session_state[f"{SCOPE}refused"])
    return live


def _arrows(view: WordsView, count: int = 6) -> list[tuple[str, str]]:
    """a -> b and c -> d of the first question of the first relations: pairs an analogy says are parallel."""
    arrows: list[tuple[str, str]] = []
    seen: set[str] = set()
    for relation, a, b, c, d in view.analogies:
        if relation not in seen and len(arrows) < count:
            seen.add(relation)
            arrows += [(a, b), (c, d)]
    return arrows


def _map(view: WordsView, run_id: str) -> None:
    arrows = _arrows(view)
    chosen = set(np.argsort(-view.counts)[:MAP_WORDS].tolist())
    index = {w: i for i, w in enumerate(view.words)}
    chosen |= {index[w] for pair in arrows for w in pair if w in index}
    rows = np.array(sorted(chosen))
    coords, shown = pca_2d(view.vectors[run_id][rows])
    key = f"{SCOPE}map.{run_id}"
    previous = st.session_state.get(key)
    if previous is not None and previous[0] == tuple(rows.tolist()):
        coords = align(coords, previous[1])
    st.session_state[key] = (tuple(rows.tolist()), coords)
    words = [view.words[i] for i in rows]
    chart(map_figure(coords, words, view.counts[rows], arrows, run_id, shown), f"words_map_{run_id}",
          _how("words_map"))


def _neighbours(view: WordsView, labels: dict[str, str]) -> None:
    chosen = st.multiselect("Words", list(view.words), default=list(view.probe_words[:6]),
                            key=f"{SCOPE}neighbour_words", max_selections=12)
    table = {}
    for run_id, label in labels.items():
        for word, row in neighbours_of(view.vectors[run_id], view.words, chosen, NEIGHBOURS).items():
            table[(label, word)] = [f"{other} ({cos:.2f})" for other, cos in row]
    if table:
        frame = pd.DataFrame(table, index=[f"{k}." for k in range(1, NEIGHBOURS + 1)])
        st.dataframe(frame, key=f"{SCOPE}neighbours_table")
    st.caption(_how("words_neighbours"))


def _how(name: str) -> str:
    from app import help_texts

    return help_texts.WORDS_CAPTIONS[name]


def _example(view: WordsView, group: WordsGroup, labels: dict[str, str]) -> None:
    run_id = st.radio("Run", list(labels), format_func=labels.get, horizontal=True, key=f"{SCOPE}example_run") \
        if len(labels) > 1 else "a"
    examples = view.examples.get(run_id, ())
    if not examples:
        st.caption("This text has no example with a context word.")
        return
    number = st.number_input("Example", min_value=0, max_value=len(examples) - 1, step=1, key=f"{SCOPE}example",
                             help="The examples training reads first, in order; step through them with + and -.")
    config = dict(zip(group.ids, group.runs))[run_id]
    example = examples[int(number)]
    lrs = view.scalars[(view.scalars["run"] == run_id) & (view.scalars["metric"] == "lr")]["value"]
    lr = float(lrs.iloc[-1]) if len(lrs) else config.lr
    negatives = draw_negatives(view.noise, config.negatives, int(number))
    explained = explain(view.vectors[run_id], view.output_vectors[run_id], view.words, example, negatives, lr)
    inputs = ", ".join(explained.inputs)
    what = ("centre word" if config.model == "skipgram" else "context words, averaged")
    st.markdown(plain(f"Input ({what}): {inputs}. Step {view.step} of {view.total_steps}, lr {lr:.3g}."))
    chart(example_figure(explained.rows), "words_example", _how("words_example"))
    frame = pd.DataFrame(explained.rows).rename(columns={"coefficient": "dL/dlogit", "logit_after": "logit after"})
    st.dataframe(frame, hide_index=True, key=f"{SCOPE}example_table")
    chart(vector_figure(explained.v, explained.v_after, inputs), "words_vector", "")
    moved = float(np.linalg.norm(explained.v_after - explained.v))
    st.caption(plain(f"The input vector v ({inputs}) is pulled toward the true word's output vector and pushed "
                     f"away from the negatives': its length goes from {np.linalg.norm(explained.v):.3f} to "
                     f"{np.linalg.norm(explained.v_after):.3f}, and it moves by {moved:.3g}."))


def _draw(view: WordsView, group: WordsGroup, preset_id: str | None) -> None:
    labels = dict(zip(group.ids, group.labels))
    st.progress(view.step / max(view.total_steps, 1),
                text=f"{view.state}: step {view.step:,} of {view.total_steps:,}")
    for finding in view.findings:
        st.info(plain(finding["message"]), icon=":material/lightbulb:")
    figures = {"words_analogies": analogy_figure(view.scalars, labels, view.total_steps),
               "words_loss": loss_figure(view.scalars, labels, view.total_steps)}
    key_chart = preset_named(preset_id).key_chart if preset_id and preset_named(preset_id) else None
    if key_chart in figures:  # the lesson's chart first, under its story
        figures = {key_chart: figures[key_chart], **figures}
    for name, figure in figures.items():
        st.subheader(WORDS_CHARTS[name][0])
        chart(figure, name, _how(name))
    st.subheader(WORDS_CHARTS["words_map"][0])
    for run_id, column in zip(group.ids, st.columns(len(group.ids))):
        with column:
            run_heading(run_id, labels[run_id])
            _map(view, run_id)
    st.subheader(WORDS_CHARTS["words_neighbours"][0])
    _neighbours(view, labels)
    st.subheader("Vector lengths and logits over time")
    chart(hist_figure(view.hists, labels), "words_hists", _how("words_hists"))
    st.subheader(WORDS_CHARTS["words_example"][0])
    _example(view, group, labels)


def _stored_preview(preset_id: str | None) -> None:
    """Before a lesson trains: its key chart's quantity from the stored run (the Gallery card's, larger)."""
    preset = preset_named(preset_id) if preset_id else None
    preview = stored_previews().get(preset.id) if preset is not None else None
    if preview is None:
        return
    st.subheader(WORDS_CHARTS[preset.key_chart][0])
    figure = words_card_figure(preview, preset.card_quantity)
    figure.update_layout(height=PREVIEW_HEIGHT, font={"size": 12}, margin={"l": 50, "r": 12, "t": 8, "b": 28})
    st.plotly_chart(figure, key=f"{SCOPE}lesson-preview", config=CONFIG, theme=None)
    st.caption(f"{WORDS_CURVES[preset.card_quantity]} over the steps, from a stored run of this lesson: press "
               "**Train** to watch it happen live, with every chart.")


def render() -> None:
    group, preset_id, autorun = words_setup.setup()
    st.title(WORDS.title)
    link_warning(st.session_state.get(f"{SCOPE}link_problems", []))
    show_story(preset_id)
    if autorun and _live(group) is None:
        _start(group)
    live = _controls(group)
    share_panel(words_setup.write_link(group, preset_id), training=live is not None)
    if live is None:
        _stored_preview(preset_id)
        st.caption("Press Train: the vectors train here, live, and every chart below follows them.")
        return

    polling = live.view.state in ("running", "paused")  # an ended run's charts do not change

    @st.fragment(run_every=1.0 if polling else None)
    def live_charts() -> None:
        current = _live(group)
        if current is not None:
            guarded("the word-vector charts")(_draw)(current.view, group, preset_id)

    live_charts()
