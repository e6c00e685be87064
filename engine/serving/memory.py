"""Memory given back: how much a process holds (resident set size), handing freed heap back to the system,
and the threshold above which an idle worker restarts itself.

glibc's malloc keeps freed memory in its arenas, and a process's resident size only grows unless
`malloc_trim` returns the free pages: the runner's reader thread calls `trim` every few seconds
(engine/serving/reader.py), and a worker calls it when it lets go of its last job. If the worker still holds
more than `worker_idle_limit` (what a heavy job's tensors fragmented, torch's caches), it retires
(engine/serving/worker.py, the Retiring message) and the runner starts a fresh one in its place.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os

IDLE_RSS_ENV = "LAYERSCOPE_WORKER_IDLE_MB"
DEFAULT_IDLE_RSS_MB = 400  # a fresh worker holds ~300 MB (torch, pandas, the engine); a heavy job leaves GBs
IDLE_MARGIN = 1.25  # by default, never below this multiple of the worker's own starting size
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def rss(pid: int | str = "self") -> int:
    """Resident set size in bytes of a process (this one by default); 0 if it cannot be read (gone, not Linux)."""
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return 0


def megabytes(n: int) -> float:
    return round(n / 2**20, 1)


def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6")
        libc.malloc_trim  # noqa: B018 (glibc only: musl and macOS have none)
    except (OSError, AttributeError):
        return None
    return libc


_LIBC = _libc()


def trim() -> bool:
    """Hand the heap's free pages back to the system (glibc `malloc_trim(0)`); False where there is none."""
    if _LIBC is None:
        return False
    _LIBC.malloc_trim(0)
    return True


def worker_idle_limit(baseline: int) -> int:
    """Bytes of resident memory above which a worker that has just let go of its last job restarts itself:
    LAYERSCOPE_WORKER_IDLE_MB if set (0 turns it off), else the larger of DEFAULT_IDLE_RSS_MB and
    IDLE_MARGIN times `baseline`, the worker's size when it started serving."""
    text = os.environ.get(IDLE_RSS_ENV, "").strip()
    if text:
        try:
            return int(max(0.0, float(text)) * 2**20)
        except ValueError:
            pass  # as if unset
    return max(DEFAULT_IDLE_RSS_MB * 2**20, int(IDLE_MARGIN * baseline))
