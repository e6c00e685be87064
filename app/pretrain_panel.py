"""Pre-training and the first layer on a training page (Playground, Compare): the pre-training table's figure,
the first layer's weights (every run, pre-trained or not: 8x8 images on digits) and an RBM's fantasy digits.

While a job pre-trains the page shows this section first; once fine-tuning starts it moves below the usual charts
(once: each chart keeps its key, so it does not flicker between refreshes).
"""

from __future__ import annotations

import streamlit as st

from app import charts
from app.layout import chart
from engine.lessons.charts import charts_for, group_has
from engine.serving.jobs import JobView

DIGIT_SHAPE = (8, 8)  # digits: 64 inputs, an 8x8 image


def image_shape(job: JobView) -> tuple[int, int] | None:
    return DIGIT_SHAPE if job.group.base.dataset == "digits" else None


def figures(job: JobView, labels: dict[str, str]) -> tuple[dict, dict[str, list[str]]]:
    """The section's figures for one view (built inside the page's per-view cache): those of the chart list
    this group draws (engine/lessons/charts.py: filters on digits or with pre-training), once their data is there;
    and the words shown above them, by the same name."""
    out, words = {}, {}
    drawn = set(charts_for(len(job.ids), group_has(job.group)))
    if "pretraining" in drawn and not job.pretrain.empty:
        out["pretraining"] = charts.pretraining_figure(job.pretrain, labels=labels, runs=job.ids)
        words["pretraining"] = charts.pretraining_words(job.pretrain, labels=labels, runs=job.ids)
    if "start" in drawn and not job.pretraining:  # step 0 is measured once pre-training is over
        out["start"] = charts.start_depth_figure(job.tables().layers, labels=labels, runs=job.ids)
    shape = image_shape(job)
    if "filters" in drawn and job.first_layer_weights:  # other data: arrows or rows (app/charts/tiles.py)
        out["filters"] = charts.filters_figure(job.first_layer_weights, image_shape=shape, labels=labels)
        words["filters"] = charts.filters_words(job.first_layer_weights, image_shape=shape)
    if "fantasies" in drawn and job.fantasies and shape is not None:  # other data's samples are points, not images
        out["fantasies"] = charts.fantasies_figure(job.fantasies, image_shape=shape, labels=labels)
        words["fantasies"] = charts.fantasies_words(job.fantasies)
    return out, words


def pretrains(job: JobView) -> bool:
    return job.pretrain_progress[1] > 0


def show(job: JobView, figures: dict) -> None:
    """The section: pre-training (if any run pre-trains), then the first layer's weights and fantasies, each with
    its words (`figures["sentences"]`) above it."""
    words = figures["sentences"]
    if pretrains(job):
        st.subheader("Pre-training, layer by layer")
        if job.pretraining:
            st.caption("Each hidden layer learns its input without labels, one layer at a time; training with "
                       "labels (fine-tuning) starts when every layer is done.")
        if "pretraining" in figures:
            chart(figures["pretraining"], "pretraining", words=words.get("pretraining", ()))
        else:
            st.caption("The first layer's numbers arrive after its first epoch.")
    if "start" in figures:
        st.subheader("Where fine-tuning starts: step 0")
        chart(figures["start"], "start")
    if "filters" in figures:
        st.subheader("The first layer's weights")
        chart(figures["filters"], "filters", words=words.get("filters", ()))
    if "fantasies" in figures:
        st.subheader("Digits the RBM dreams up")
        chart(figures["fantasies"], "fantasies", words=words.get("fantasies", ()))
