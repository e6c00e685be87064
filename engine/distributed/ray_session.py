"""One connection to Ray per process: the cluster at RAY_ADDRESS, or a local Ray started for this process.

Ray is an optional install (`pip install -r requirements-ray.txt`); `connect` imports it lazily and, when it
is missing, raises RayUnavailable saying how to install it. The pitfalls it handles, once for every user
(the search's RayBackend, the job runner's Ray workers):

- `ray.init` twice raises: `connect` starts or joins Ray once, under a lock, and reuses it after.
- A local Ray is started with `address="local"`, never by finding "the latest cluster on this machine"
  (another program's cluster), minimal: no dashboard, `num_cpus` as asked (default: this process's cores),
  a small object store (the tasks pass configs and small results).
- Ray 2.59+ turns token authentication on for local clusters and keeps the token in a file under the home
  directory (unwritable in the Docker image, shared by every program of the user). For a local Ray started
  here, with no token configured, `connect` makes a fresh token for this process and passes it through the
  environment (RAY_AUTH_TOKEN), so nothing is written under the home directory. A cluster at RAY_ADDRESS
  has its own token: give RAY_AUTH_MODE=token and the token (RAY_AUTH_TOKEN or RAY_AUTH_TOKEN_PATH).
- Ray's raylet starts workers at niceness 15: on a busy machine they then get almost no CPU (a sweep measured
  5x slower than the same trainings in this process). A local Ray started here runs them at the server's
  priority, as the local worker processes do (RAY_worker_niceness=0, unless already set).
- One torch thread per worker: OMP_NUM_THREADS=1 in every worker's environment (the tasks also call
  `torch.set_num_threads(1)`); small nets only lose to more threads' contention.
- On a cluster the workers need this code: the `engine` package ships with the job (`py_modules`); the
  cluster's Python needs the packages of requirements.txt.
"""

from __future__ import annotations

import os
import secrets
import threading
import time
from pathlib import Path
from types import ModuleType

ADDRESS_VARIABLE = "RAY_ADDRESS"
INSTALL_HINT = "pip install -r requirements-ray.txt"
BACKEND_VARIABLE = "LAYERSCOPE_BACKEND"  # where searches and the Playground's jobs run, unless told
BACKENDS = ("local", "ray")
OBJECT_STORE_BYTES = 200 * 1024 * 1024  # a local Ray's shared memory: configs and small results only
_TOKEN_VARIABLES = ("RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH")

_lock = threading.Lock()
_started_s: float | None = None  # seconds the first connect took (ray.init), for the benchmarks and logs


class RayUnavailable(RuntimeError):
    """Ray is not installed here, or could not be reached; the message says what to do."""


def installed() -> bool:
    try:
        import ray  # noqa: F401
    except ModuleNotFoundError:
        return False
    return True


def connect(num_cpus: int | None = None) -> ModuleType:
    """The `ray` module, initialized once per process. `num_cpus` sizes a local Ray (ignored on a cluster)."""
    global _started_s
    try:
        import ray
    except ModuleNotFoundError:
        raise RayUnavailable(f"Ray is not installed here: `{INSTALL_HINT}` installs it "
                             "(until then everything trains locally).") from None
    with _lock:
        if ray.is_initialized():
            return ray
        address = os.environ.get(ADDRESS_VARIABLE, "").strip()
        start = time.perf_counter()
        worker_env = {"OMP_NUM_THREADS": "1"}
        try:
            if address:
                package = str(Path(__file__).resolve().parent.parent)  # engine/
                ray.init(address=address, include_dashboard=False, logging_level="WARNING",
                         runtime_env={"env_vars": worker_env, "py_modules": [package]})
            else:
                if not any(os.environ.get(name) for name in _TOKEN_VARIABLES):
                    os.environ["RAY_AUTH_TOKEN"] = secrets.token_hex(32)  # this process's local Ray only
                os.environ.setdefault("RAY_worker_niceness", "0")  # read by the raylet ray.init starts
                ray.init(address="local", num_cpus=num_cpus or len(os.sched_getaffinity(0)),
                         include_dashboard=False, object_store_memory=OBJECT_STORE_BYTES,
                         logging_level="WARNING", runtime_env={"env_vars": worker_env})
        except (ConnectionError, RuntimeError, ValueError) as error:
            where = f"the Ray cluster at {ADDRESS_VARIABLE}={address}" if address else "a local Ray"
            raise RayUnavailable(f"Could not start or reach {where}: {error}") from error
        _started_s = time.perf_counter() - start
        return ray


def started_s() -> float | None:
    """How long this process's `ray.init` took, once it has run."""
    return _started_s


def shutdown() -> None:
    """Leave Ray (a local Ray started here stops with it); the next `connect` starts or joins it again."""
    global _started_s
    try:
        import ray
    except ModuleNotFoundError:
        return
    with _lock:
        if ray.is_initialized():
            ray.shutdown()
        _started_s = None
