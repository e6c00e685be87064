"""The Compare page: two to four runs side by side, trained as one group in lock-step.

Run a is set up in the sidebar; runs b-d change chosen keys of it (app/variants.py). The runs see the
same data in the same batch order and, where their shapes and init agree, start from the same
weights, so the only difference is the one the user made. Charts that compare are overlaid, one
colour per run; charts that cannot overlay stand side by side, one column per run, on shared axes.
"""

from __future__ import annotations

import math

import pandas as pd
import streamlit as st

from app import address_bar, charts, help_texts, pretrain_panel, run_panel, variants
from app.guard import guarded
from app.layout import chart, folds, network_chart, page_top, run_heading, titled_pair
from app.pages import COMPARE
from app.plain_text import plain
from app.runtime import session_token
from app.share import share_panel
from app.sidebar import render_sidebar
from app.story import key_chart_first, key_chart_preview, show_story
from engine.serving.jobs import JobView
from engine.vocabulary.config import layer_sizes
from engine.vocabulary.group import GroupConfig, differences

SCOPE = COMPARE.prefix


def _load_link() -> None:
    """A new link in the address bar seeds every run; a one-run link gets a copy as run b to change."""
    link = address_bar.incoming(SCOPE)
    if link is None:
        return
    variants.load(link.group)
    if len(link.group.runs) == 1:
        variants.add_run()


@st.cache_resource(max_entries=64, ttl=600, show_spinner=False, hash_funcs=run_panel.BY_VIEW)  # old versions go unread
def _figures(job: JobView, log_y: bool, present: bool = False) -> dict:
    """Every figure of the page for one view of a job; shared by all viewers of the job."""
    scalars, layers, hists, summary, findings = job.tables()
    labels = dict(zip(job.ids, job.labels))
    activations = {run_id: config.activation for run_id, config in zip(job.ids, job.group.runs)}
    penalties = {run_id: (config.l1, config.weight_decay) for run_id, config in zip(job.ids, job.group.runs)}
    pretrain_figures, pretrain_words = pretrain_panel.figures(job, labels)
    prediction = job.prediction
    if prediction is None:
        outputs = {}
    elif prediction.kind == "curve":  # one curve per run overlays well on the same data
        outputs = {"all": charts.prediction_figure(prediction, None, job.points, labels=labels)}
    else:
        outputs = {run: charts.prediction_figure(prediction, run, job.points, colorbar=run == job.ids[-1])
                   for run in job.ids}  # side by side, one colour bar for all
    figures = {
        "loss": charts.loss_accuracy_figure(scalars, log_y=log_y, labels=labels),
        "grad_depth": charts.gradient_depth_figure(layers, labels=labels),
        "grad_time_runs": charts.gradient_time_grid(layers, job.ids, labels=labels),
        "backprop": charts.backprop_figure(layers, labels=labels, activations=activations),
        "saturation_depth": charts.saturation_depth_figure(layers, labels=labels, activations=activations),
        "weights": charts.weights_figure(layers, labels=labels),
        "act_grid": charts.histogram_grid(hists, job.ids, "act", labels=labels),
        **charts.network_figures(layers, dict(zip(job.ids, map(layer_sizes, job.group.runs))), labels=labels),
        **pretrain_figures,
    }
    words = {  # the words above a chart, built with it from the same tables (app/layout.py `chart`)
        "backprop": charts.backprop_words(layers, labels=labels, activations=activations),
        "weights": charts.weight_words(layers, labels=labels, penalties=penalties),
        **pretrain_words,
    }
    if present:
        figures = {name: charts.projected(figure) for name, figure in figures.items()}
        outputs = {name: charts.projected(figure) for name, figure in outputs.items()}
    return {**figures, "outputs": outputs, "sentences": words, "findings": findings, "summary": summary}


def run_status(job: JobView, k: int) -> str:
    """One run's state in plain words: a run that diverged or stopped early says when, the others go on."""
    status = job.run_statuses.get(job.ids[k], job.status)
    end = job.end_step[k]
    if status == "diverged":
        loss = job.end_loss[k]
        shown = "not a number" if loss is None or not math.isfinite(loss) else f"{loss:.3g}"
        return f"diverged at step {end:,} (loss {shown}); the other runs go on"
    if status == "early_stopped":
        return f"stopped early at step {end:,}: validation loss stopped improving"
    if status == "finished":
        return f"finished, {job.step:,} steps"
    return status


def _differences(group: GroupConfig) -> None:
    diff = differences(group)
    if not diff:
        st.info("The runs are identical: choose keys for run b to change, above.")
        return
    columns = [f"{run_id}: {label}" if label != run_id else run_id for run_id, label in zip(group.ids, group.labels)]
    table = pd.DataFrame(list(diff.values()), index=list(diff), columns=columns)
    table.index.name = "key"
    st.markdown("**What differs between the runs**")
    st.dataframe(table, width="content")


@guarded(f"the live view of {COMPARE.called}")
def _live(first: run_panel.FirstView, present: bool = False) -> None:
    job, figures = run_panel.open_view(first, SCOPE, _figures, present, "This comparison")
    if job is None:
        return
    figures = key_chart_first(figures, address_bar.current(SCOPE).preset, job, present)  # the lesson's, first
    columns = st.columns(len(job.ids))
    for k, (column, run_id, label) in enumerate(zip(columns, job.ids, job.labels)):
        with column:
            run_heading(run_id, label)
            status = job.run_statuses.get(run_id, job.status)
            (st.error if status == "diverged" else st.caption)(run_status(job, k))
    if job.pretraining:  # the phase that is happening, first; below the usual charts once it is over
        pretrain_panel.show(job, figures)
    st.subheader("The nets at a glance")
    network_chart(figures, SCOPE)
    titled_pair(present, figures, ("Loss and accuracy", "loss", None),
                ("Gradient magnitude across depth", "grad_depth", None))
    st.subheader("Gradient size over time, run by run")
    chart(figures["grad_time_runs"], "grad_time_runs")
    st.subheader("Backprop as a product")
    chart(figures["backprop"], "backprop", words=figures["sentences"]["backprop"])
    st.subheader("Saturation and dead units across depth")
    chart(figures["saturation_depth"], "saturation_depth")
    st.subheader("Weights across depth")
    chart(figures["weights"], "weights", words=figures["sentences"]["weights"])
    st.subheader("Activations over time, side by side")
    chart(figures["act_grid"], "act_grid")
    st.subheader("What each net computes")
    outputs = figures["outputs"]
    how_to_read = help_texts.HOW_TO_READ[job.prediction.kind] if job.prediction else ""
    if "all" in outputs:
        chart(outputs["all"], "output", how_to_read)
    elif outputs:
        for column, run_id, label in zip(st.columns(len(job.ids)), job.ids, job.labels):
            with column:
                run_heading(run_id, label)
                chart(outputs[run_id], f"output-{run_id}", "")
        st.caption(how_to_read)
    if not job.pretraining:
        pretrain_panel.show(job, figures)
    st.subheader("Findings")
    for column, run_id, label, run in zip(st.columns(len(job.ids)), job.ids, job.labels, figures["summary"]["runs"]):
        with column:
            run_heading(run_id, label)
            if run["verdict"]:  # how the run ended, once it has
                st.info(run["verdict"])
            mine = [f for f in figures["findings"] if f["run"] == run_id]
            for finding in mine:
                where = f" in **{finding['layer']}**" if finding["layer"] else ""
                st.warning(f"**{help_texts.FINDING_TITLES.get(finding['code'], finding['code'])}**{where} "
                           f"(step {finding['step']}): {finding['message']}")
            if not mine and not run["verdict"]:
                st.success("No problems found so far.")
    st.subheader("Downloads")
    st.caption("Every run's numbers in one table each, told apart by the `run` column.")
    run_panel.downloads(job)
    run_panel.stop_polling_when_ended(job, SCOPE)


def render() -> None:
    _load_link()
    session_token()  # creating it registers the session with the runner's reaper
    link, present = page_top(SCOPE, COMPARE.title)
    show_story(link.preset, present=present)
    st.sidebar.markdown("**Run a**: every run starts from this setup.")
    base, errors = render_sidebar(locked=set(link.lock), prefix=variants.BASE)
    for error in errors:
        st.sidebar.error(plain(error))
    runs_box, controls_box, share_box = folds(present, 3)
    with runs_box:
        folded = present or link.preset is not None  # a lesson's story says what its runs change: its chart first
        with st.expander("Runs", expanded=False) if folded else st.container():
            group, run_errors = variants.render_runs(base, locked=set(link.lock))
            if group is not None:
                _differences(group)
        for error in run_errors:
            st.error(plain(error))
    if group is not None:
        params = address_bar.write(SCOPE, group)
    with controls_box, st.expander("Controls", expanded=False) if present else st.container():
        job = run_panel.controls(group if group is not None and len(group.runs) > 1 else None, SCOPE)
        st.toggle("log-scale loss", key=f"{SCOPE}log_y")
    if group is not None:  # after the controls: a run started by this click is in the link already
        with share_box:
            share_panel(params, training=run_panel.has_run(SCOPE))
    if job is None:
        # a lesson shows its key chart from a stored run instead
        if run_panel.job_id(SCOPE) or not key_chart_preview(link.preset, comparison=True):
            st.info("This comparison has ended and was cleared from the server. Press **Train** to run it again."
                    if run_panel.job_id(SCOPE) else
                    "Choose what each run changes, then press **Train**: all runs train together, on the same "
                    "batches, from the same starting weights where their shapes agree.")
        return
    if run_panel.changed_since_start(group, SCOPE):
        st.caption("The runs changed since this comparison started: press **Train** to run them.")
    st.fragment(run_every=run_panel.refresh_seconds(job))(_live)(run_panel.FirstView(job), present)
