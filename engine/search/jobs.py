"""Searches for the Search page: each one trains in a process of its own (engine/search/isolated.py, at the
heavy lane's lower priority; its batches on the backend LAYERSCOPE_BACKEND names), watched by a thread in the
server, shared by everyone who opens the same search, and read by the page as an immutable view at any moment.

One SearchJobs per server (the page keeps it as an `st.cache_resource`). A search is keyed by its link (the
flat mapping of engine/search/spec.py), so a second viewer of the same link watches the running search; at
most `max_running` run at once (a search of tens of trials keeps a core busy), the rest are refused with a
message that says so. Stop sets an event every batch polls between chunks of steps: every trial ends within
2 s (tests/test_search_trials.py).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, replace

from engine.search.backend import check_backend, get_backend
from engine.search.isolated import new_stop, run_isolated
from engine.search.run import SearchOutcome, run_search
from engine.search.spec import SearchSpec, search_mapping
from engine.search.trials import TrialResult
from engine.serving.cost import Limits

MAX_RUNNING = 2
KEEP_S = 3600  # an ended search stays readable this long after it ended


class SearchLimitError(RuntimeError):
    """Too many searches running on this server; the message says how many and what to do."""


@dataclass(frozen=True)
class SearchView:
    """What the page reads: a copy of the outcome as it stood, and where the search is."""

    key: str
    spec: SearchSpec
    outcome: SearchOutcome
    version: int
    state: str  # running, done, stopped, failed
    error: str | None = None


class SearchJob:
    """One search: in a process of its own when `isolated` (the server), else on this thread's own (tests of
    what a search shows, where a process's start would only add seconds)."""

    def __init__(self, key: str, spec: SearchSpec, backend_name: str | None, isolated: bool = True):
        self.key, self.spec, self.backend_name, self.isolated = key, spec, backend_name, isolated
        self.stop_event = new_stop() if isolated else threading.Event()
        self.outcome = SearchOutcome(spec=spec, results=[None] * len(spec.trial_configs()))
        self.version = 0
        self.error: str | None = None
        self.ended_at: float | None = None
        # A ConfigError here reaches the page before anything starts. Isolated, the search's own process
        # connects (to Ray, say); the server only checks the name.
        if isolated:
            check_backend(backend_name)
        self.backend = None if isolated else get_backend(backend_name)
        self.thread = threading.Thread(target=self._run, name=f"search-{key[:40]}", daemon=True)

    def _run(self) -> None:
        try:
            if self.isolated:
                run_isolated(self.spec, self.outcome, self.stop_event, self.backend_name,
                             niceness=Limits().heavy_niceness, on_update=self._updated)
            else:
                run_search(self.spec, self.backend, on_update=lambda _: self._updated(),
                           should_stop=self.stop_event.is_set, outcome=self.outcome)
        except Exception as error:  # shown on the page as a failed search, logged by the page
            self.error = f"{type(error).__name__}: {error}"
        finally:
            self.ended_at = time.monotonic()
            self.version += 1

    def _updated(self) -> None:
        self.version += 1

    @property
    def running(self) -> bool:
        return self.ended_at is None

    def view(self) -> SearchView:
        with self.outcome.lock:
            results: list[TrialResult | None] = [None if r is None else replace(r, curve=list(r.curve))
                                                 for r in self.outcome.results]
            outcome = replace(self.outcome, results=results, lock=threading.Lock())
        state = ("failed" if self.error else "running" if self.running
                 else "stopped" if outcome.stopped else "done")
        return SearchView(key=self.key, spec=self.spec, outcome=outcome, version=self.version, state=state,
                          error=self.error)


class SearchJobs:
    def __init__(self, max_running: int = MAX_RUNNING, isolated: bool = True):
        self.max_running, self.isolated = max_running, isolated
        self.jobs: dict[str, SearchJob] = {}
        self.lock = threading.Lock()

    @staticmethod
    def key_of(spec: SearchSpec) -> str:
        return "&".join(f"{k}={v}" for k, v in sorted(search_mapping(spec).items()))

    def start(self, spec: SearchSpec, backend_name: str | None = None) -> str:
        """The key of the running (or ended) search for `spec`, starting it if there is none."""
        key = self.key_of(spec)
        with self.lock:
            self._forget_old()
            job = self.jobs.get(key)
            if job is not None and job.error is None and not (job.outcome.stopped and not job.running):
                return key
            running = sum(j.running for j in self.jobs.values())
            if running >= self.max_running:
                raise SearchLimitError(f"{running} searches are running on this server, the most it runs at once "
                                       f"({self.max_running}): wait for one to end, or stop yours, and start again.")
            job = SearchJob(key, spec, backend_name, self.isolated)
            self.jobs[key] = job
            job.thread.start()
        return key

    def view(self, key: str) -> SearchView | None:
        job = self.jobs.get(key)
        return None if job is None else job.view()

    def stop(self, key: str) -> None:
        job = self.jobs.get(key)
        if job is not None:
            job.stop_event.set()

    def wait(self, key: str, timeout: float) -> bool:
        """Wait until the search has ended (tests, the CLI); True if it has."""
        job = self.jobs.get(key)
        if job is None:
            return True
        job.thread.join(timeout)
        return not job.running

    def _forget_old(self) -> None:
        now = time.monotonic()
        for key in [k for k, j in self.jobs.items() if j.ended_at is not None and now - j.ended_at > KEEP_S]:
            del self.jobs[key]
