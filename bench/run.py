"""Run every benchmark and print one JSON document.

    .venv/bin/python bench/run.py            # full: a few minutes, the numbers to quote
    .venv/bin/python bench/run.py --quick    # CI: the whole suite in well under 30 s, keeps it working
    .venv/bin/python bench/run.py --profile  # adds where the engine's time goes per step
    .venv/bin/python -m bench ...            # the same

Exit status 1 if a benchmark raised (its entry then holds the traceback); timings never fail a run.
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `bench` and `engine` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import (
    app_cost,
    browser_rehearsal,
    fair_lanes,
    group_cost,
    guide_cost,
    history_memory,
    pretrain_cost,
    probe_overhead,
    profile_engine,
    ray_cost,
    search_speed,
    soak,
    words_cost,
    workshop,
)
from bench.common import emit, environment

BENCHMARKS = {
    "probe_overhead": probe_overhead.run,
    "group_cost": group_cost.run,
    "history_memory": history_memory.run,
    "app_cost": app_cost.run,
    "workshop": workshop.run,
    "fair_lanes": fair_lanes.run,
    "soak": soak.run,
    "browser_rehearsal": browser_rehearsal.run,
    "guide_cost": guide_cost.run,
    "pretrain_cost": pretrain_cost.run,
    "ray_cost": ray_cost.run,
    "words_cost": words_cost.run,
    "search_speed": search_speed.run,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: the whole suite in well under 30 s")
    parser.add_argument("--profile", action="store_true", help="also profile the engine per step")
    parser.add_argument("--only", action="append", choices=[*BENCHMARKS, "profile"],
                        help="run just this benchmark (repeatable)")
    args = parser.parse_args(argv)
    chosen = dict(BENCHMARKS)
    if args.profile or (args.only and "profile" in args.only):
        chosen["profile"] = profile_engine.run
    if args.only:
        chosen = {name: fn for name, fn in chosen.items() if name in args.only}

    document: dict[str, Any] = {"environment": environment(), "quick": args.quick, "seconds": {}}
    failed = False
    main = sys.modules["__main__"]
    for name, run in chosen.items():
        start = time.perf_counter()
        try:
            document[name] = run(quick=args.quick)
        except Exception:
            failed = True
            document[name] = {"error": traceback.format_exc()}
        finally:
            # AppTest leaves its (temporary) script as __main__, and spawned workers re-import __main__:
            # restored, a later benchmark's workers start however the one before ran its pages.
            sys.modules["__main__"] = main
        document["seconds"][name] = round(time.perf_counter() - start, 1)
    emit(document)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
