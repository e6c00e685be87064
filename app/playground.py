"""The Playground: set up a net in the sidebar, press Train, watch every layer while it trains.

The page never trains: it asks the job runner (worker processes) to, and a fragment polls about once
a second while the job is live, drawing whatever has arrived. Figures are built once per (job, data
version) and shared by every viewer of the same job.
"""

from __future__ import annotations

import io
import json

import plotly.graph_objects as go
import streamlit as st
import torch
import yaml

from app import charts
from app.links import link_params, read_link
from app.runtime import get_runner, session_token
from app.sidebar import load_into_widgets, render_sidebar
from engine.api import typed_mapping
from engine.group import GroupConfig
from engine.jobs import JobLimitError

LIVE = ("queued", "running")
REFRESH_SECONDS = 1.0


def _load_link() -> None:
    """Once per session: the address bar's keys seed the widgets; bad keys become warnings."""
    state = st.session_state
    if state.get("link_loaded"):
        return
    link = read_link({key: st.query_params.get_all(key) for key in st.query_params})
    state.link_problems = [str(p) for p in link.problems]
    if len(link.group.runs) > 1:
        state.link_problems.append(
            f"this link compares {len(link.group.runs)} runs; the Playground shows run a "
            f"({', '.join(link.group.labels)})")
    load_into_widgets(link.group.base)
    state.autorun = link.autorun
    state.link_loaded = True


@st.cache_resource(max_entries=512, show_spinner=False)
def _figures(job_id: str, version: int, log_y: bool) -> dict:
    """Every figure of the page for one job at one data version; shared by all viewers of the job."""
    runner = get_runner()
    job = runner.job(job_id)
    scalars, layers, hists, summary, findings = runner.tables(job_id)
    run = job.ids[0]
    return {
        "loss": charts.loss_accuracy_figure(scalars, log_y=log_y),
        "output": charts.prediction_figure(job.prediction, run, job.points) if job.prediction else None,
        "act_time": charts.histogram_heatmap(hists, run, kind="act"),
        "act_now": charts.depth_profile(hists, run, kind="act"),
        "grad_depth": charts.gradient_depth_figure(layers),
        "grad_time": charts.gradient_time_figure(layers, run),
        "grad_hist": charts.histogram_heatmap(hists, run, kind="grad"),
        "saturation": charts.saturation_figure(layers),
        "update": charts.update_ratio_figure(layers, run),
        "findings": findings,
        "summary": summary,
    }


def _chart(figure: go.Figure, name: str, how_to_read: str | None = None) -> None:
    st.plotly_chart(figure, key=f"chart-{name}", config={"displaylogo": False}, theme=None)
    st.caption(how_to_read or charts.HOW_TO_READ[name])


def _downloads(job_id: str, group: GroupConfig) -> None:
    runner = get_runner()

    def table(index: int) -> bytes:
        return runner.tables(job_id)[index].to_csv(index=False).encode()

    def weights() -> bytes:
        buffer = io.BytesIO()
        torch.save(runner.weights(job_id), buffer)
        return buffer.getvalue()

    columns = st.columns(5)
    for column, (index, name) in zip(columns, enumerate(("scalars", "layers", "hists"))):
        column.download_button(f"{name}.csv", lambda i=index: table(i), file_name=f"{name}.csv", mime="text/csv",
                               on_click="ignore")
    columns[3].download_button("config.yaml", yaml.safe_dump(typed_mapping(group), sort_keys=False),
                               file_name="config.yaml", mime="application/x-yaml", on_click="ignore")
    columns[4].download_button("weights.pt", weights, file_name="weights.pt", on_click="ignore")


def _live(job_id: str) -> None:
    runner = get_runner()
    job = runner.job(job_id)
    if job is None:
        st.info("This run has ended and was cleared from the server. Press Train to run it again.")
        return
    fraction = min(1.0, job.step / max(1, job.steps))
    speed = f" · {job.steps_per_s:,.0f} steps/s" if job.status == "running" else ""
    waiting = " (waiting for the worker)" if job.pending else ""  # a control was sent, not yet confirmed
    place = f" (#{job.queue_position} in line)" if job.status == "queued" and job.queue_position else ""
    st.progress(fraction, text=f"step {job.step:,} / {job.steps:,}{speed} · {job.status}{place}{waiting}")
    if job.message:
        (st.error if job.status == "failed" else st.info)(job.message)
    log_y = st.session_state.get("log_y", False)
    figures = _figures(job_id, job.version, log_y)
    findings = figures["findings"]
    st.subheader("Findings")
    if findings:
        for finding in findings:
            where = f" in **{finding['layer']}**" if finding["layer"] else ""
            st.warning(f"**{finding['code'].replace('_', ' ')}**{where} (step {finding['step']}): {finding['message']}")
    else:
        st.success("No problems found so far.")
    left, right = st.columns(2)
    with left:
        st.subheader("Loss and accuracy")
        _chart(figures["loss"], "loss")
    with right:
        st.subheader("What the net computes")
        if figures["output"] is not None:
            _chart(figures["output"], "output", charts.HOW_TO_READ[job.prediction.kind])
    st.subheader("Gradient magnitude across depth")
    left, right = st.columns(2)
    with left:
        _chart(figures["grad_depth"], "grad_depth")
    with right:
        _chart(figures["grad_time"], "grad_time")
    _chart(figures["grad_hist"], "grad_hist")
    st.subheader("Activations")
    _chart(figures["act_now"], "act_now")
    _chart(figures["act_time"], "act_time")
    left, right = st.columns(2)
    with left:
        st.subheader("Saturation and dead units")
        _chart(figures["saturation"], "saturation")
    with right:
        st.subheader("Update ratio")
        _chart(figures["update"], "update")
    st.subheader("Downloads")
    _downloads(job_id, job.group)
    if job.status not in LIVE and st.session_state.get("polling"):
        st.session_state.polling = False
        st.rerun()  # the whole page, so the fragment stops polling


def _controls(group: GroupConfig | None) -> None:
    runner, token, state = get_runner(), session_token(), st.session_state
    job_id = state.get("job_id")
    job = runner.job(job_id) if job_id else None
    columns = st.columns(6)
    train = columns[0].button("Train", type="primary", disabled=group is None, use_container_width=True)
    if train or (state.pop("autorun", False) and group is not None):
        try:
            new_id = runner.start(group, token.id)
            if job_id and job_id != new_id:
                runner.release(job_id, token.id)  # not stop: other viewers may share that run
            state.job_id = new_id
            state.job_config = json.dumps(link_params(group), sort_keys=True)
            state.polling = True
        except JobLimitError as error:
            st.error(str(error))
        job = runner.job(state.get("job_id")) if state.get("job_id") else None
    running = job is not None and job.status in LIVE
    if columns[1].button("Pause", disabled=not running, use_container_width=True):
        runner.pause(state.job_id)
    paused = job is not None and job.status == "paused"
    if columns[2].button("Resume", disabled=not paused, use_container_width=True):
        runner.resume(state.job_id)
        state.polling = True
    step_size = columns[3].number_input("steps", min_value=1, max_value=10_000, value=10, label_visibility="collapsed")
    if columns[4].button(f"Step {step_size}", disabled=job is None or job.status not in ("paused",),
                         use_container_width=True):
        runner.step(state.job_id, int(step_size))
        state.polling = True
    if columns[5].button("Reset", disabled=job is None, use_container_width=True):
        runner.reset(state.job_id)
        state.polling = True


def _share(group: GroupConfig) -> None:
    params = link_params(group)
    st.query_params.from_dict(params)
    base = (st.context.url or "").split("?")[0]
    query = "&".join(f"{k}={v}" for k, v in params.items())
    with st.expander("Link to this setup"):
        st.code(f"{base}?{query}" if query else base, language=None)
        st.caption("The copy button is at the right of the box. Add `&autorun=1` to start training on open.")


def render() -> None:
    _load_link()
    token = session_token()  # noqa: F841  (creating it registers the session with the runner's reaper)
    st.title("Playground")
    for problem in st.session_state.get("link_problems", []):
        st.warning(f"Link: {problem}")
    config, errors = render_sidebar()
    for error in errors:
        st.sidebar.error(error)
    group = GroupConfig.single(config) if config is not None else None
    if group is not None:
        _share(group)
    _controls(group)
    st.toggle("log-scale loss", key="log_y")
    state = st.session_state
    job_id = state.get("job_id")
    if job_id is None:
        st.info("Set up a net in the sidebar and press **Train**. Every layer is measured while it trains.")
        return
    if group is not None and state.get("job_config") != json.dumps(link_params(group), sort_keys=True):
        st.caption("The settings changed since this run started: press **Train** to run them.")
    job = get_runner().job(job_id)
    live = job is not None and job.status in LIVE
    st.fragment(run_every=REFRESH_SECONDS if live else None)(_live)(job_id)
