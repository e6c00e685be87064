"""The Playground: set up a net in the sidebar, press Train, watch every layer while it trains.

The page never trains: it asks the job runner (worker processes) to, and a fragment polls about once
a second while the job is live, drawing whatever has arrived. Figures are built once per (job, data
version) and shared by every viewer of the same job.
"""

from __future__ import annotations

import streamlit as st

from app import address_bar, charts, help_texts, landing, pretrain_panel, run_panel
from app.guard import guarded
from app.layout import chart, folds, network_chart, page_top, pair, titled_pair
from app.links import link_params, preset_named
from app.pages import COMPARE, PLAYGROUND
from app.plain_text import plain
from app.runtime import session_token
from app.share import share_panel
from app.sidebar import load_into_widgets, render_sidebar
from app.story import key_chart_first, key_chart_preview, show_story
from engine.serving.jobs import JobView
from engine.vocabulary.config import layer_sizes
from engine.vocabulary.group import GroupConfig

SCOPE = PLAYGROUND.prefix
CONFIG = f"{SCOPE}config."  # the sidebar's widgets: playground.config.lr, ...


def _load_link() -> None:
    """The address bar's keys seed the widgets when it holds a new link; bad keys become warnings."""
    link = address_bar.incoming(SCOPE)
    if link is None:
        return
    state = st.session_state
    state[f"{SCOPE}comparison"] = link.group if len(link.group.runs) > 1 else None  # offered on the Compare page
    load_into_widgets(link.group.base, CONFIG)


@st.cache_resource(max_entries=64, ttl=600, show_spinner=False, hash_funcs=run_panel.BY_VIEW)  # old versions go unread
def _figures(job: JobView, log_y: bool, present: bool = False) -> dict:
    """Every figure of the page for one view of a job; shared by all viewers of the job."""
    scalars, layers, hists, summary, findings = job.tables()
    run = job.ids[0]
    config = job.group.runs[0]
    activations = {run: config.activation}
    penalties = {run: (config.l1, config.weight_decay)}
    pretrain_figures, pretrain_words = pretrain_panel.figures(job, dict(zip(job.ids, job.labels)))
    figures = {
        "loss": charts.loss_accuracy_figure(scalars, log_y=log_y),
        "output": charts.prediction_figure(job.prediction, run, job.points) if job.prediction else None,
        "act_time": charts.histogram_heatmap(hists, run, kind="act"),
        "act_now": charts.depth_profile(hists, run, kind="act"),
        "grad_depth": charts.gradient_depth_figure(layers),
        "grad_time": charts.gradient_time_figure(layers, run),
        "grad_hist": charts.histogram_heatmap(hists, run, kind="grad"),
        "backprop": charts.backprop_figure(layers, activations=activations),
        "saturation": charts.saturation_figure(layers, activations=activations),
        "update": charts.update_ratio_figure(layers, run),
        "weights": charts.weights_figure(layers),
        **charts.network_figures(layers, {run: layer_sizes(config)}),
        **pretrain_figures,
    }
    words = {  # the words above a chart, built with it from the same tables (app/layout.py `chart`)
        "backprop": charts.backprop_words(layers, activations=activations),
        "weights": charts.weight_words(layers, penalties=penalties),
        **pretrain_words,
    }
    if present:
        figures = {name: charts.projected(figure) if figure is not None else None for name, figure in figures.items()}
    return {**figures, "sentences": words, "findings": findings, "summary": summary}


@guarded(f"the live view of {PLAYGROUND.called}")
def _live(first: run_panel.FirstView, present: bool = False) -> None:
    job, figures = run_panel.open_view(first, SCOPE, _figures, present, "This run")
    if job is None:
        return
    figures = key_chart_first(figures, address_bar.current(SCOPE).preset, job, present)  # the lesson's, first
    if job.pretraining:  # the phase that is happening, first; below the usual charts once it is over
        pretrain_panel.show(job, figures)
    left, right = pair(present)
    with left:
        st.subheader("The net at a glance")
        network_chart(figures, SCOPE)
    with right:
        st.subheader("What the net computes")
        if figures["output"] is not None:
            chart(figures["output"], "output", help_texts.HOW_TO_READ[job.prediction.kind])
    st.subheader("Findings")
    verdict = figures["summary"]["runs"][0]["verdict"]  # how the run ended, once it has
    if verdict:
        st.info(verdict)
    for finding in figures["findings"]:
        where = f" in **{finding['layer']}**" if finding["layer"] else ""
        st.warning(f"**{finding['code'].replace('_', ' ')}**{where} (step {finding['step']}): {finding['message']}")
    if not figures["findings"] and not verdict:
        st.success("No problems found so far.")
    st.subheader("Loss and accuracy")
    chart(figures["loss"], "loss")
    st.subheader("Gradient magnitude across depth")
    left, right = pair(present)
    with left:
        chart(figures["grad_depth"], "grad_depth")
    with right:
        chart(figures["grad_time"], "grad_time")
    chart(figures["grad_hist"], "grad_hist")
    st.subheader("Backprop as a product")
    chart(figures["backprop"], "backprop", words=figures["sentences"]["backprop"])
    st.subheader("Activations")
    chart(figures["act_now"], "act_now")
    chart(figures["act_time"], "act_time")
    titled_pair(present, figures, ("Saturation and dead units", "saturation", None),
                ("Update ratio", "update", None))
    st.subheader("Weights across depth")
    chart(figures["weights"], "weights", words=figures["sentences"]["weights"])
    if not job.pretraining:
        pretrain_panel.show(job, figures)
    st.subheader("Downloads")
    run_panel.downloads(job)
    run_panel.stop_polling_when_ended(job, SCOPE)


def _compare_with(group: GroupConfig | None) -> None:
    """Open the Compare page with this setup as run a and an identical run b to change."""
    if st.button("Compare with…", disabled=group is None, help=f"Open {COMPARE.called} with this setup as run a"):
        params = address_bar.params_for(SCOPE, group, whole_group=False)
        if "preset" in params and len(preset_named(params["preset"]).group().runs) > 1:
            params = {**link_params(group), **address_bar.current(SCOPE).page_keys()}  # only this run as run a
        st.switch_page(COMPARE.script, query_params={**params, "b.label": "b"})


def render() -> None:
    _load_link()
    session_token()  # creating it registers the session with the runner's reaper
    link, present = page_top(SCOPE, PLAYGROUND.title)
    top = st.container()  # the landing (app/landing.py), filled once the controls have read Train
    comparison = st.session_state.get(f"{SCOPE}comparison")
    if comparison is not None:
        st.warning(f"This link compares {len(comparison.runs)} runs; {PLAYGROUND.called} shows run a.")
        st.page_link(COMPARE.script, label=f"Open the comparison on {COMPARE.called}", icon=COMPARE.icon,
                     query_params={**link_params(comparison, link.preset), **link.page_keys()})
    show_story(link.preset, present=present)
    config, errors = render_sidebar(locked=set(link.lock), prefix=CONFIG)
    for error in errors:
        st.sidebar.error(plain(error))
    group = GroupConfig.single(config) if config is not None else None
    params = address_bar.write(SCOPE, group, whole_group=False) if group is not None else None
    controls_box, share_box = folds(present, 2)
    with controls_box, st.expander("Controls", expanded=False) if present else st.container():  # folded away
        job = run_panel.controls(group, SCOPE)
        left, right = st.columns([1, 4])
        with left:
            _compare_with(group)
        with right:
            st.toggle("log-scale loss", key=f"{SCOPE}log_y")
    landing.show(top, SCOPE, present)
    if params is not None:  # after the controls: a run started by this click is in the link already
        with share_box:
            share_panel(params, training=run_panel.has_run(SCOPE))
    if job is None:
        # a lesson shows its key chart from a stored run instead
        if run_panel.job_id(SCOPE):
            st.info("This run has ended and was cleared from the server. Press **Train** to run it again.")
        elif (present or landing.link_given(SCOPE)) and not key_chart_preview(link.preset, comparison=False):
            # a fresh page's landing says this already
            st.info("Set up a net in the sidebar and press **Train**. Every layer is measured while it trains.")
        return
    if run_panel.changed_since_start(group, SCOPE):
        st.caption("The settings changed since this run started: press **Train** to run them.")
    st.fragment(run_every=run_panel.refresh_seconds(job))(_live)(run_panel.FirstView(job), present)
