"""History memory: what the bounded history holds after a 200,000-step run of a 10-layer net.

Instead of training 200,000 steps, a real snapshot (from a short run of a 10x32 net) is copied with new
step numbers and fed to `History` 200,000 / probe_every times; reported are `history.nbytes()`, the
points kept, and the Python memory (tracemalloc) the history really holds. Target: <= 20 MB.
`worst_case_mb` is the most the history can hold for that snapshot size (capacity + 1 points, just before
a halving); the 50-layer group is the deepest net a link may ask for.
The full mode also trains one real 20,000-step run (probe_every=10, 10x32) under tracemalloc.
"""

from __future__ import annotations

import gc
import time
import tracemalloc
from pathlib import Path
from typing import Any

from bench.common import DEEP_NET, main_of, make_trainer, rnd
from engine.training.history import History, Snapshot

TOTAL_STEPS = 200_000
FOUR_ACTIVATIONS = {"activation": "tanh", "b.activation": "relu", "c.activation": "sigmoid", "d.activation": "gelu"}
TARGET_MB = 20.0
GROUPS = {
    "one_run_10x32": DEEP_NET,
    "four_runs_10x32": {**DEEP_NET, **FOUR_ACTIVATIONS},
    "four_runs_50x32": {"hidden": "50x32", **FOUR_ACTIVATIONS},  # the deepest net a link may ask for
}
ONLY_DEFAULT_PROBING = {"four_runs_50x32"}  # 200,001 copies of a 157 KB snapshot would add little but time


def real_snapshot(mapping: dict[str, Any]) -> Snapshot:
    trainer = make_trainer({**mapping, "probe_every": 10})
    trainer.advance(51)  # probes at 0, 10, ..., 50: histogram ranges fixed, update ratios filled
    return trainer.history.latest


def copy_snapshot(template: Snapshot, step: int) -> Snapshot:
    return Snapshot(
        step=step, runs=list(template.runs), scalars=template.scalars.copy(),
        layers=[a.copy() for a in template.layers],
        hists=[{kind: a.copy() for kind, a in h.items()} for h in template.hists],
    )


def rss_bytes() -> int | None:
    """Current resident set size (Linux), or None."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def fed_history(template: Snapshot, probe_every: int) -> dict[str, Any]:
    count = TOTAL_STEPS // probe_every + 1  # probes at 0, probe_every, ..., TOTAL_STEPS
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    history = History()
    for i in range(count):
        history.add(copy_snapshot(template, i * probe_every), index=i)
    gc.collect()
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    nbytes = history.nbytes()
    return {
        "probe_every": probe_every,
        "snapshots_fed": count,
        "points_kept": len(history.snapshots()),
        "stride": history.stride,
        "history_nbytes": nbytes,
        "history_mb": rnd(nbytes / 1e6),
        "traced_mb": rnd((current - base) / 1e6),  # numpy buffers and Python objects the history holds
        "traced_peak_mb": rnd((peak - base) / 1e6),
        "target": f"<= {TARGET_MB} MB",
        "meets_target": max(nbytes, current - base) / 1e6 <= TARGET_MB,
    }


def real_run(steps: int, max_seconds: float = 50.0) -> dict[str, Any]:
    """Up to `steps` steps, stopping early (in 1,000-step chunks) once `max_seconds` have passed."""
    trainer = make_trainer({**DEEP_NET, "probe_every": 10})
    gc.collect()
    rss_before = rss_bytes()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    start = time.perf_counter()
    while trainer.step < steps and time.perf_counter() - start < max_seconds:
        trainer.advance(min(1000, steps - trainer.step))
    seconds = time.perf_counter() - start
    gc.collect()
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss_after = rss_bytes()
    nbytes = trainer.history.nbytes()
    return {
        "net": "10x32 tanh, probe_every=10",
        "steps": trainer.step,
        "seconds_under_tracemalloc": rnd(seconds),
        "points_kept": len(trainer.history.snapshots()),
        "history_mb": rnd(nbytes / 1e6),
        "traced_mb_after": rnd((current - base) / 1e6),
        "traced_peak_mb": rnd((peak - base) / 1e6),
        # torch's allocator is invisible to tracemalloc; RSS growth shows anything kept on that side
        "rss_growth_mb": rnd((rss_after - rss_before) / 1e6) if rss_before and rss_after else None,
    }


def run(quick: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "what": f"bounded history after {TOTAL_STEPS:,} steps of a 10-layer net (copies of a real snapshot)",
        "groups": {},
    }
    for name, mapping in GROUPS.items():
        template = real_snapshot(mapping)
        # Just before a halving the history holds capacity + 1 points (and the latest): its largest size.
        sized = History()
        sized.add(template, index=0)  # the first point fixes the capacity for this snapshot size
        worst = (sized.capacity + 1) * template.nbytes() / 1e6
        entry: dict[str, Any] = {"snapshot_bytes": template.nbytes(), "runs": len(template.runs),
                                 "worst_case_mb": rnd(worst), "worst_case_meets_target": worst <= TARGET_MB}
        for pe in (10,) if quick or name in ONLY_DEFAULT_PROBING else (10, 1):
            entry[f"probe_every_{pe}"] = fed_history(template, pe)
        out["groups"][name] = entry
    out["real_run"] = real_run(500 if quick else 20_000)
    return out


main = main_of("history_memory", __doc__, run)


if __name__ == "__main__":
    main()
