"""What every training page shares: the controls, the progress line, the share box and the downloads.

State lives in st.session_state under the page's `scope`, its prefix in app/pages.py (e.g.
`compare.job_id`), so each page keeps its own run. Controls act on the whole group: Pause, Step and
Reset move every run of a comparison together, in lock-step.
"""

from __future__ import annotations

import io
import json

import streamlit as st
import torch

from app.links import link_params
from app.runtime import get_runner, session_token
from engine.serving.jobs import JobLimitError, JobView
from engine.vocabulary.group import GroupConfig, config_yaml

LIVE = ("queued", "running")
REFRESH_SECONDS = 1.0
# A refresh costs the server ~15-30 ms of CPU per viewer (bench/workshop.py). Past this many viewers of one
# job, each polls less often, so a room of 100 costs about one refresh budget, not three cores.
VIEWERS_AT_FULL_RATE = 30


def _key(scope: str, name: str) -> str:
    return f"{scope}{name}"


def job_id(scope: str) -> str | None:
    return st.session_state.get(_key(scope, "job_id"))


def started_config(group: GroupConfig) -> str:
    return json.dumps(link_params(group), sort_keys=True)


def controls(group: GroupConfig | None, scope: str) -> JobView | None:
    """Train, Pause, Resume, Step N, Reset. Train (or `autorun`) starts the group; returns its job."""
    runner, token, state = get_runner(), session_token(), st.session_state
    current = job_id(scope)
    job = runner.job(current) if current else None
    columns = st.columns(6)
    train = columns[0].button("Train", type="primary", disabled=group is None, width="stretch",
                              key=_key(scope, "train"))
    if train or (state.pop(_key(scope, "autorun"), False) and group is not None):
        try:
            new_id = runner.start(group, token.id)
            if current and current != new_id:
                runner.release(current, token.id)  # not stop: other viewers may share that run
            state[_key(scope, "job_id")] = current = new_id
            state[_key(scope, "job_config")] = started_config(group)
            state[_key(scope, "polling")] = True
        except JobLimitError as error:
            st.error(str(error))
        job = runner.job(current) if current else None
    running = job is not None and job.status in LIVE
    if columns[1].button("Pause", disabled=not running, width="stretch", key=_key(scope, "pause")):
        runner.pause(current)
    paused = job is not None and job.status == "paused"
    if columns[2].button("Resume", disabled=not paused, width="stretch", key=_key(scope, "resume")):
        runner.resume(current)
        state[_key(scope, "polling")] = True
    step_size = columns[3].number_input("steps", min_value=1, max_value=10_000, value=10,
                                        label_visibility="collapsed", key=_key(scope, "step_size"))
    if columns[4].button(f"Step {step_size}", disabled=not paused, width="stretch",
                         key=_key(scope, "step")):
        runner.step(current, int(step_size))
        state[_key(scope, "polling")] = True
    if columns[5].button("Reset", disabled=job is None, width="stretch", key=_key(scope, "reset")):
        runner.reset(current)
        state[_key(scope, "polling")] = True
    return runner.job(current) if current else None


def changed_since_start(group: GroupConfig | None, scope: str) -> bool:
    return group is not None and st.session_state.get(_key(scope, "job_config")) not in (None, started_config(group))


def progress(job: JobView) -> None:
    """The progress bar: step, speed, status, place in line, and whether a control awaits the worker."""
    fraction = min(1.0, job.step / max(1, job.steps))
    speed = f" · {job.steps_per_s:,.0f} steps/s" if job.status == "running" else ""
    waiting = " (waiting for the worker)" if job.pending else ""  # a control was sent, not yet confirmed
    place = f" (#{job.queue_position} in line)" if job.status == "queued" and job.queue_position else ""
    st.progress(fraction, text=f"step {job.step:,} / {job.steps:,}{speed} · {job.status}{place}{waiting}")
    if job.message:
        (st.error if job.status == "failed" else st.info)(job.message)


def refresh_seconds(job: JobView) -> float | None:
    """How often a viewer's live charts poll: once a second, slower for a crowded job, never once it ended."""
    if job.status not in LIVE:
        return None
    return REFRESH_SECONDS * max(1.0, job.subscribers / VIEWERS_AT_FULL_RATE)


def stop_polling_when_ended(job: JobView, scope: str) -> None:
    """Called by a live fragment: once the job has ended, rerun the whole page so the fragment stops."""
    if job.status not in LIVE and st.session_state.get(_key(scope, "polling")):
        st.session_state[_key(scope, "polling")] = False
        st.rerun()


def has_run(scope: str) -> bool:
    """Whether the page trains (or will, this run, from a link's autorun=1)."""
    return job_id(scope) is not None or bool(st.session_state.get(_key(scope, "autorun")))


def downloads(job_id: str, group: GroupConfig) -> None:
    """Every run's tables (with the `run` column), the config and the weights; built when clicked."""
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
    columns[3].download_button("config.yaml", config_yaml(group),
                               file_name="config.yaml", mime="application/x-yaml", on_click="ignore")
    columns[4].download_button("weights.pt", weights, file_name="weights.pt", on_click="ignore")
