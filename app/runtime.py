"""The one job runner per server, and this browser session's identity for it.

The runner (worker processes, engine/serving/jobs.py) is a global `st.cache_resource`. Each session gets a
session-scoped token; when Streamlit drops the session, `on_release` tells the runner, which ends the
session's jobs after a grace period unless another viewer still holds them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import streamlit as st

from engine.serving.jobs import JobRunner


@st.cache_resource(show_spinner="Starting the training workers...")
def get_runner() -> JobRunner:
    return JobRunner()


@dataclass(frozen=True)
class SessionToken:
    id: str


def _release(token: SessionToken) -> None:
    get_runner().release_session(token.id)


@st.cache_resource(scope="session", on_release=_release, show_spinner=False)
def session_token() -> SessionToken:
    return SessionToken(uuid.uuid4().hex)
