"""Which sessions hold which jobs, and the limits on holding them (the runner's settings, given to each call).

Limits: a session holds at most `max_session_jobs` jobs; starting another releases the session's oldest
ended job, and if all of them are still live (queued, running or paused) JobLimitError says so. The server
holds at most `max_jobs` live jobs; orphans (jobs nobody holds, in their grace period) are ended first to
make room. (A worker's limit, `jobs_per_worker`, is the runner's scheduling: more jobs wait as `queued`.)

Holding is kept on both sides: here the job ids of each session, oldest first; on each JobMirror its
sessions (`subscribers`) and since when nobody holds it (`orphan_since`). Used with the runner's lock
held; the methods that change a job's subscribers return the jobs they changed, for the runner to publish.
"""

from __future__ import annotations

import contextlib
import time

from engine.serving.errors import JobLimitError
from engine.serving.mirror import JobMirror
from engine.serving.views import ENDED, LIVE


class Sessions:
    def __init__(self, jobs: dict[str, JobMirror]):
        self._jobs = jobs  # the runner's jobs by id (read only here)
        self._held: dict[str, list[str]] = {}  # session -> job ids, oldest first

    def __len__(self) -> int:
        return len(self._held)

    def held(self, session: str) -> list[str]:
        return list(self._held.get(session, []))

    def subscribe(self, job: JobMirror, session: str, max_session_jobs: int) -> list[JobMirror]:
        """`session` holds `job` too (at its limit, it lets go of its oldest ended job first)."""
        if job.id in self._held.get(session, []):
            return []
        changed = []
        to_release = self.session_room(session, max_session_jobs)
        if to_release is not None:
            changed += self.unsubscribe(to_release, session)
        self._held.setdefault(session, []).append(job.id)
        job.subscribers[session] = None
        job.orphan_since = None
        return [*changed, job]

    def unsubscribe(self, job: JobMirror, session: str, forget: bool = True) -> list[JobMirror]:
        if forget and job.id in self._held.get(session, []):
            self._held[session].remove(job.id)
        if job.subscribers.pop(session, ()) is not None:
            return []
        if not job.subscribers:
            job.orphan_since = time.monotonic()
        return [job]

    def end(self, session: str) -> list[JobMirror]:
        """The session ended: it holds nothing any more."""
        changed = []
        for job_id in self._held.pop(session, []):
            job = self._jobs.get(job_id)
            if job is not None:
                changed += self.unsubscribe(job, session, forget=False)
        return changed

    def forget(self, job: JobMirror) -> None:
        """The job is gone: no session holds it any more."""
        for session in list(job.subscribers):
            with contextlib.suppress(ValueError, KeyError):
                self._held[session].remove(job.id)

    def session_room(self, session: str, max_session_jobs: int) -> JobMirror | None:
        """None if the session may hold one more job, else its oldest ended job to let go of; raises
        JobLimitError if all it holds are live."""
        held = [self._jobs[j] for j in self._held.get(session, []) if j in self._jobs]
        if len(held) < max_session_jobs:
            return None
        for job in held:
            if job.status in ENDED:
                return job
        raise JobLimitError(f"This session is training {len(held)} jobs, its limit (max_session_jobs = "
                            f"{max_session_jobs}): stop one of them or let one finish, then start again.")

    def server_room(self, max_jobs: int) -> JobMirror | None:
        """None if the server may take one more live job, else the oldest orphan to end for it; raises
        JobLimitError if every live job has a viewer."""
        live = [j for j in self._jobs.values() if j.status in LIVE]
        if len(live) < max_jobs:
            return None
        orphans = [j for j in live if not j.subscribers]
        if not orphans:
            raise JobLimitError(f"This server is training {len(live)} jobs, its limit (max_jobs = {max_jobs}): "
                                "wait for one to finish or stop one of yours, then start again.")
        return min(orphans, key=lambda j: j.orphan_since)
