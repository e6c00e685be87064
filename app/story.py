"""The story of the preset in use, above a page's charts: what to watch, why, what to try next; and the
chart the story talks about (the preset's `key_chart`), drawn first under it, so a lesson opens with its
story, the Train button and that chart on the first screen. Before the lesson trains, the chart's place
shows the Gallery's stored preview of the same quantity."""

from __future__ import annotations

import html

import plotly.graph_objects as go
import streamlit as st

from app import gallery, help_texts
from app.layout import SHOWN_ABOVE, chart, run_heading
from app.links import preset_named
from app.plain_text import plain
from app.preview_charts import CONFIG, caption, preview_figure
from engine.lessons.charts import CHARTS
from engine.serving.jobs import JobView
from engine.vocabulary.config import all_keys

PREVIEW_HEIGHT = 200  # px: the card's chart, readable at the top of the page
# The presenter view at 1440x900: the story (about 250 px at its size) and the key chart share one screen.
PRESENT_CHART_HEIGHT = 360  # px, at most: about 96 px above the story, 270 for it, 170 for folds, progress, title


def show_story(preset_id: str | None, *, present: bool = False) -> None:
    preset = preset_named(preset_id) if preset_id else None
    if preset is None:
        return
    with st.container(border=True):
        if present:  # read from the back of a room
            st.markdown(f"<div style='font-size:1.7rem;font-weight:700'>{html.escape(preset.title)}</div>"
                        f"<div style='font-size:1.25rem;line-height:1.45'>{html.escape(preset.story)}</div>",
                        unsafe_allow_html=True)
        else:
            st.markdown(f"**Lesson: {preset.title}** · preset `{preset.id}`")
            st.markdown(preset.story)
        changes = link_changes()
        if changes:  # the story's numbers are the published lesson's: say so when this link is another setup
            st.caption(f"This link changes the lesson's setup ({plain(changes)}): the story describes the "
                       "lesson as published, so what these runs show may differ from it.")


def link_changes() -> str:
    """The config keys the address bar sets on top of its preset, as `key=value, ...` ('' for none)."""
    keys = set(all_keys()) | {"label"}
    changed = [f"{key}={value}" for key, value in st.query_params.items()
               if key != "preset" and key.rpartition(".")[2] in keys]
    return ", ".join(changed)


def key_chart_first(figures: dict, preset_id: str | None, job: JobView, present: bool = False) -> dict:
    """Draw the lesson's key chart (from a page's `figures`, by its name in engine/lessons/charts.py) under
    its title; return the figures with it marked SHOWN_ABOVE, so its usual place only points up. Without
    a lesson, or with a key chart this page has no figure for, draws nothing and returns `figures`. In the
    presenter view a one-row chart is at most PRESENT_CHART_HEIGHT tall, so it shares the screen with the
    story."""
    preset = preset_named(preset_id) if preset_id else None
    name = preset.key_chart if preset is not None else None
    if name == "output" and "outputs" in figures:  # the Compare page: one map per run, or one for all
        return _outputs_first(figures, job)
    if name is None or figures.get(name) is None or isinstance(figures[name], str):
        return figures
    st.subheader(CHARTS[name].title)
    how_to_read = help_texts.HOW_TO_READ[job.prediction.kind] if name == "output" and job.prediction else None
    figure = figures[name]
    if present and (figure.layout.height or 0) > PRESENT_CHART_HEIGHT and _one_row(figure):
        figure = go.Figure(figure).update_layout(height=PRESENT_CHART_HEIGHT)  # a copy: figures are shared
    chart(figure, f"lesson-{name}", how_to_read if how_to_read is not None else help_texts.HOW_TO_READ[name],
          words=figures["sentences"].get(name, ()))
    return {**figures, name: SHOWN_ABOVE}


def _one_row(figure: go.Figure) -> bool:
    """Whether every panel of `figure` sits in one row: a grid of panels (one per layer) keeps its height,
    which its panels need to stay readable."""
    return len({tuple(axis.domain or (0, 1)) for axis in figure.select_yaxes()}) <= 1


def _outputs_first(figures: dict, job: JobView) -> dict:
    outputs = figures["outputs"]
    if not outputs:
        return figures
    st.subheader(CHARTS["output"].title)
    if "all" in outputs:
        chart(outputs["all"], "lesson-output", "")
    else:
        for column, run_id, label in zip(st.columns(len(job.ids)), job.ids, job.labels):
            with column:
                run_heading(run_id, label)
                chart(outputs[run_id], f"lesson-output-{run_id}", "")
    if job.prediction:
        st.caption(help_texts.HOW_TO_READ[job.prediction.kind])
    return {**figures, "outputs": {name: SHOWN_ABOVE for name in outputs}}


def key_chart_preview(preset_id: str | None, *, comparison: bool) -> bool:
    """Before the lesson trains: its key chart's quantity from the stored short run (the Gallery's card,
    larger), so the first screen already shows what the story is about. Only on the page the preset opens
    on (`comparison`: the Compare page), whose runs are the preview's. Returns whether it drew."""
    preset = preset_named(preset_id) if preset_id else None
    if preset is None or (len(preset.group().runs) > 1) != comparison:
        return False
    preview = gallery.stored_previews().get(preset.id)
    if preview is None:
        return False
    st.subheader(CHARTS[preset.key_chart].title)
    figure = preview_figure(preview, preset.card_quantity)
    figure.update_layout(height=PREVIEW_HEIGHT, font={"size": 12}, margin={"l": 50, "r": 12, "t": 8, "b": 28})
    st.plotly_chart(figure, key="chart-lesson-preview", config=CONFIG, theme=None)
    st.caption(f"{caption(preset.card_quantity)} From a stored short run of this lesson: press **Train** to "
               "watch it happen live, with every chart.")
    return True
