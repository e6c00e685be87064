"""The job runner's errors: each says, in words for the page, why a request cannot be served."""

from __future__ import annotations


class JobError(Exception):
    """A request the runner cannot serve; the message says why, in words for the page."""


class JobLimitError(JobError):
    """A limit (per session, per server) refused a new job; the message names the limit and its value."""


class UnknownJobError(JobError, KeyError):
    """No such job (never started, or ended and removed after its viewers left)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "no such job"
