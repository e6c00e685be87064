"""Where a search's tasks run: in this process (LocalBackend) or on a Ray cluster (engine.distributed.ray_backend).

A backend maps a module-level, picklable `task` over picklable `items` and hands each result back in the
caller's process as soon as it is ready; `should_stop` is polled, and once it says True the backend cancels
what runs and returns within 2 s. The search's task unit is a batch of trials trained together in one stack
(engine.search.trials.train_batch), so the backend never sees a net, only items and results.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Protocol, TypeVar

from engine.distributed.ray_session import BACKEND_VARIABLE, BACKENDS, INSTALL_HINT, RayUnavailable
from engine.vocabulary.config import ConfigError, Problem

T = TypeVar("T")
R = TypeVar("R")



class Backend(Protocol):
    def map(self, task: Callable[[T], R], items: Sequence[T], on_result: Callable[[int, R], None],
            should_stop: Callable[[], bool]) -> None:
        """Run `task(item)` for every item; `on_result(index, result)` in the caller's process as each ends."""
        ...


class LocalBackend:
    """Every item in the calling process, one after another; a stop is seen between items.

    A task that wants to stop sooner (a batch of trials mid-training) polls a stop of its own: the search
    passes one in its items, so the local backend needs no threads to keep Stop within 2 s.
    """

    def map(self, task: Callable[[T], R], items: Sequence[T], on_result: Callable[[int, R], None],
            should_stop: Callable[[], bool]) -> None:
        for index, item in enumerate(items):
            if should_stop():
                return
            on_result(index, task(item))


def check_backend(name: str | None = None) -> tuple[str, ModuleType | None]:
    """Where the backend's name came from (`--backend` or LAYERSCOPE_BACKEND) and, for Ray, its module,
    without connecting to anything; None reads LAYERSCOPE_BACKEND (default local). Raises ConfigError for an
    unknown name or a Ray that is not installed."""
    source = "--backend"
    if name is None:
        name, source = os.environ.get(BACKEND_VARIABLE, "local"), BACKEND_VARIABLE
    chosen = name.strip().lower()
    if chosen == "local":
        return source, None
    if chosen == "ray":
        try:
            return source, importlib.import_module("engine.distributed.ray_backend")
        except ModuleNotFoundError as error:
            if error.name not in ("ray", "engine.distributed", "engine.distributed.ray_backend"):
                raise
            raise ConfigError([Problem(key="backend", value="ray", message="Ray is not installed here",
                                       allowed=f"local, or ray after `{INSTALL_HINT}`")], source) from None
    raise ConfigError([Problem(key="backend", value=name, message="unknown backend",
                               allowed="one of " + ", ".join(BACKENDS))], source)


def get_backend(name: str | None = None) -> Backend:
    """The backend called `name`, connected (check_backend's rules). Raises ConfigError."""
    source, module = check_backend(name)
    if module is None:
        return LocalBackend()
    try:
        return module.RayBackend()
    except RayUnavailable as error:  # installed, but not startable or reachable (RAY_ADDRESS)
        raise ConfigError([Problem(key="backend", value="ray", message=str(error),
                                   allowed="local, or ray with a reachable cluster at RAY_ADDRESS (or none "
                                           "set, for a local Ray)")], source) from None
