"""What every training page shares: the controls, the progress line, the share box and the downloads.

State lives in st.session_state under the page's `scope`, its prefix in app/pages.py (e.g.
`compare.job_id`), so each page keeps its own run. Controls act on the whole group: Pause, Step and
Reset move every run of a comparison together, in lock-step.
"""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Callable

import streamlit as st
import torch

from app import bug_banner
from app.guard import guarded
from app.links import link_params
from app.plain_text import plain
from app.runtime import get_runner, session_token
from engine.serving.jobs import JobLimitError, JobView, UnknownJobError
from engine.vocabulary.group import GroupConfig, config_yaml

LIVE = ("queued", "running")
REFRESH_SECONDS = 1.0
# Until a running job's first snapshot arrives (its first probe runs at step 0, a tenth of a second after start),
# look again soon: the first chart then shows moments after Train, not a whole refresh later.
FIRST_DATA_REFRESH_SECONDS = 0.2
# A refresh costs the server ~15-30 ms of CPU per viewer (bench/workshop.py). Past this many viewers of one
# job, each polls less often, so a room of 100 costs about one refresh budget, not three cores.
VIEWERS_AT_FULL_RATE = 30
# A page's figures are cached per view: a view is one job at one version, the same for every viewer.
BY_VIEW = {JobView: lambda view: (view.id, view.version)}


def _key(scope: str, name: str) -> str:
    return f"{scope}{name}"


def job_id(scope: str) -> str | None:
    return st.session_state.get(_key(scope, "job_id"))


def started_config(group: GroupConfig) -> str:
    return json.dumps(link_params(group), sort_keys=True)


def controls(group: GroupConfig | None, scope: str) -> JobView | None:
    """Train, Pause, Resume, Step N, Reset. Train (or `autorun`) starts the group. Returns the page run's one
    view of its job, read after Train: Pause and the others act in callbacks, before the page runs again."""
    runner, token, state = get_runner(), session_token(), st.session_state
    bug_banner.show(group)  # a planted bug is never on silently
    # one row that wraps (columns would stack on a phone: six full-width rows of buttons)
    row = st.container(horizontal=True, gap="small", vertical_alignment="center")
    train = row.button("Train", type="primary", disabled=group is None, width="stretch",
                              key=_key(scope, "train"))
    started = False
    if train or (state.pop(_key(scope, "autorun"), False) and group is not None):
        try:
            current, new_id = job_id(scope), runner.start(group, token.id)
            if current and current != new_id:
                runner.release(current, token.id)  # not stop: other viewers may share that run
            state[_key(scope, "job_id")] = new_id
            state[_key(scope, "job_config")] = started_config(group)
            state[_key(scope, "polling")] = True
            started = True
        except JobLimitError as error:
            st.error(plain(error))
    current = job_id(scope)
    job = runner.job(current) if current else None  # the one view this page run draws
    if started and job is not None and job.step == 0 and job.status == "paused":
        job = _set_going(current)  # it waits at step 0 (after Reset): Train sets it going
    running, paused = job is not None and job.status in LIVE, job is not None and job.status == "paused"
    row.button("Pause", disabled=not running, width="stretch", key=_key(scope, "pause"),
                      on_click=_act, args=(scope, "pause"))
    row.button("Resume", disabled=not paused, width="stretch", key=_key(scope, "resume"),
                      on_click=_act, args=(scope, "resume"))
    step_size = row.number_input("steps", min_value=1, max_value=10_000, value=10, width=130,
                                 label_visibility="collapsed", key=_key(scope, "step_size"))
    unit = " updates" if job is not None and job.pretraining else ""  # Step counts pre-training's updates first
    row.button(f"Step {step_size}{unit}", disabled=not paused, width="stretch", key=_key(scope, "step"),
                      on_click=_act, args=(scope, "step"))
    row.button("Reset", disabled=job is None, width="stretch", key=_key(scope, "reset"),
                      on_click=_act, args=(scope, "reset"))
    return job


def _set_going(job: str) -> JobView | None:
    """Resume a job that waits at step 0 and return its view after that (a job paused later is left as it is:
    Train never undoes a Pause)."""
    runner = get_runner()
    with contextlib.suppress(UnknownJobError):
        runner.resume(job)
    return runner.job(job)


@guarded("the controls")
def _act(scope: str, action: str) -> None:
    """A control's callback. The job may have ended since the buttons were drawn: then nothing happens, and
    the page says so when it runs. Reset starts the job again from its first weights and waits at step 0,
    showing the fresh net, until Train (or Resume, or Step) sets it going."""
    runner, current = get_runner(), job_id(scope)
    with contextlib.suppress(UnknownJobError):
        if action == "step":
            runner.step(current, int(st.session_state[_key(scope, "step_size")]))
        elif action == "reset":
            runner.reset(current, paused=True)
        else:
            getattr(runner, action)(current)
    if action != "pause":
        st.session_state[_key(scope, "polling")] = True


class FirstView:
    """A page run's job view, handed to the page's live fragment: the fragment draws it when it runs within
    that page run, so the whole page shows one view; the fragment's own later runs each read a fresh one."""

    def __init__(self, job: JobView):
        self.job_id, self._view = job.id, job

    def take(self) -> JobView | None:
        view, self._view = self._view, None
        return view if view is not None else get_runner().job(self.job_id)


def open_view(first: FirstView, scope: str, figures: Callable[[JobView, bool, bool], dict], present: bool,
              what: str) -> tuple[JobView | None, dict]:
    """The live view's opening: its one job view, the progress bar, and the page's figures for that view
    (`figures(job, log_y, present)`); (None, {}) with a note when the job is gone from the server."""
    job = first.take()  # everything the page draws comes from this one view
    if job is None:
        st.info(f"{what} has ended and was cleared from the server. Press Train to run it again.")
        return None, {}
    progress(job)
    return job, figures(job, st.session_state.get(f"{scope}log_y", False), present)


def changed_since_start(group: GroupConfig | None, scope: str) -> bool:
    return group is not None and st.session_state.get(_key(scope, "job_config")) not in (None, started_config(group))


def progress(job: JobView) -> None:
    """The progress bar: step (or pre-training's phase and updates), speed, status, place in line, and whether a
    control awaits the worker."""
    waiting = " (waiting for the worker)" if job.pending else ""  # a control was sent, not yet confirmed
    place = f" (#{job.queue_position} in line)" if job.status == "queued" and job.queue_position else ""
    if job.pretraining:  # the same bar, so it is not re-created when fine-tuning starts
        done, total = job.pretrain_progress
        st.progress(done / total, text=f"{job.phase} · {done:,} / {total:,} updates · {job.status}{place}{waiting}")
    else:
        fraction = min(1.0, job.step / max(1, job.steps))
        speed = f" · {job.steps_per_s:,.0f} steps/s" if job.status == "running" else ""
        st.progress(fraction, text=f"step {job.step:,} / {job.steps:,}{speed} · {job.status}{place}{waiting}")
    if job.status == "paused" and job.step == 0:  # after Reset
        st.caption("The fresh net, before its first step: press **Train** to train it, or **Step** to go step "
                   "by step.")
    if job.message:
        (st.error if job.status == "failed" else st.info)(plain(job.message))


def refresh_seconds(job: JobView) -> float | None:
    """How often a viewer's live charts poll: once a second, slower for a crowded job, never once it ended."""
    if job.status not in LIVE:
        return None
    crowd = max(1.0, job.subscribers / VIEWERS_AT_FULL_RATE)
    if job.status == "running" and not job.snapshots() and not job.pretraining:  # queued: may wait long
        return FIRST_DATA_REFRESH_SECONDS * crowd
    return REFRESH_SECONDS * crowd


def stop_polling_when_ended(job: JobView, scope: str) -> None:
    """Called by a live fragment: once the job has ended, rerun the whole page so the fragment stops."""
    if job.status not in LIVE and st.session_state.get(_key(scope, "polling")):
        st.session_state[_key(scope, "polling")] = False
        st.rerun()


def has_run(scope: str) -> bool:
    """Whether the page trains (or will, this run, from a link's autorun=1)."""
    return job_id(scope) is not None or bool(st.session_state.get(_key(scope, "autorun")))


def downloads(job: JobView) -> None:
    """Every run's tables (with the `run` column) as the page shows them, the config and the weights as
    the worker has them when clicked; built when clicked."""

    def table(index: int) -> bytes:
        return job.tables()[index].to_csv(index=False).encode()

    def weights() -> bytes:
        buffer = io.BytesIO()
        torch.save(get_runner().weights(job.id), buffer)
        return buffer.getvalue()

    row = st.container(horizontal=True, gap="small")
    for index, name in enumerate(("scalars", "layers", "hists")):
        row.download_button(f"{name}.csv", lambda i=index: table(i), file_name=f"{name}.csv", mime="text/csv",
                            on_click="ignore")
    if not job.pretrain.empty:
        row.download_button("pretrain.csv", lambda: job.pretrain.to_csv(index=False).encode(), file_name="pretrain.csv",
                            mime="text/csv", on_click="ignore")
    row.download_button("config.yaml", config_yaml(job.group),
                        file_name="config.yaml", mime="application/x-yaml", on_click="ignore")
    row.download_button("weights.pt", weights, file_name="weights.pt", on_click="ignore")
