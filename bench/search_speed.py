"""Search speed: trials per second of a 64-trial random search over lr and weight_decay on a 3x32 net (digits),
batched (engine/search: trials in lock-step, tens of runs per stack), against the same trials one at a time
in a plain PyTorch loop and one at a time through the engine (the same search code, one trial per batch).

Every contender trains every trial for the same steps (early stopping off, so all do equal work) and measures
validation loss and accuracy every 10 steps, which is what a search reads. `vs_plain` = batched trials/s ÷
plain trials/s (the goal is at least 10), `vs_engine_alone` = batched ÷ the engine one at a time. The clock is
CPU time (one torch thread); quick mode trains 50 steps and times the one-at-a-time contenders on the
first 4 trials only (a few seconds: it keeps the benchmark working, its numbers are noisy).
"""

from __future__ import annotations

import time
from typing import Any

import torch
import torch.nn.functional as F

from bench.common import PlainLoop, main_of, rnd
from engine.search.backend import LocalBackend
from engine.search.run import run_search
from engine.search.spec import batches, parse_search
from engine.search.trials import train_batch
from engine.training.data import make_dataset
from engine.training.trainer import VAL_EVAL_MAX

TRIALS = 64
FIXED = {"dataset": "digits", "hidden": "3x32", "activation": "tanh", "early_stopping": 0, "probe_every": 10}
SPACE = {"lr": "log:1e-3:1", "weight_decay": "log:1e-6:1e-2"}
TARGET = 10.0


def _clock() -> tuple[float, float]:
    return time.process_time(), time.perf_counter()


def _since(start: tuple[float, float]) -> dict[str, float]:
    cpu, wall = _clock()
    return {"cpu": cpu - start[0], "wall": wall - start[1]}


def plain_trial(config, data) -> None:
    """One trial as a person would write it: nn.Sequential, torch.optim.SGD with weight_decay, the same
    batches, and every probe_every steps the validation loss and accuracy under no_grad."""
    loop = PlainLoop(config, data)
    x_val, y_val = data.x_val[:VAL_EVAL_MAX], data.y_val[:VAL_EVAL_MAX]
    for step in range(0, config.steps, config.probe_every):
        with torch.no_grad():
            logits = loop.net(x_val)
            F.cross_entropy(logits, y_val).item()
            (logits.argmax(dim=1) == y_val).float().mean().item()
        loop.advance(min(config.probe_every, config.steps - step))


def elementwise_ns(name: str, elements: int = 1 << 20, repeats: int = 20) -> float:
    """CPU nanoseconds per element of torch's `name` (tanh, relu) on this machine: what batching cannot remove."""
    fn = getattr(torch, name)
    x = torch.randn(elements)
    fn(x)
    start = time.process_time()
    for _ in range(repeats):
        fn(x)
    return (time.process_time() - start) / repeats / elements * 1e9


def run(quick: bool = False) -> dict[str, Any]:
    result = measure(FIXED, quick)
    result["ns_per_element"] = {name: rnd(elementwise_ns(name)) for name in ("tanh", "relu")}
    if not quick:  # the same search on relu: how much of what is left is the activation's arithmetic
        relu = measure({**FIXED, "activation": "relu"}, quick)
        result["relu"] = {key: relu[key] for key in ("net", "trials_per_s", "vs_plain", "vs_engine_alone")}
    return result


def measure(fixed: dict[str, Any], quick: bool) -> dict[str, Any]:
    steps = 50 if quick else 1000
    alone = 4 if quick else TRIALS
    spec = parse_search({**fixed, "steps": steps}, SPACE, "random", TRIALS)
    configs = spec.trial_configs()
    data = make_dataset(configs[0])  # the plain loop loads the data once, as a person would
    # Warm-up: the first call of each path pays one-off costs (lazy imports, allocator, kernels' first use).
    warm = parse_search({**fixed, "steps": 20}, SPACE, "random", 2)
    run_search(warm, LocalBackend())
    train_batch(batches(warm.trial_configs(), size=1)[0])
    plain_trial(warm.trial_configs()[0], data)

    start = _clock()
    outcome = run_search(spec, LocalBackend())
    batched = _since(start)
    ended_early = sum(r.steps < steps for r in outcome.results)  # diverged: alone, such a trial costs less

    start = _clock()
    for batch in batches(configs[:alone], size=1):
        train_batch(batch)
    engine_alone = _since(start)

    start = _clock()
    for config in configs[:alone]:
        plain_trial(config, data)
    plain = _since(start)

    rates = {name: {clock: count / max(seconds, 1e-9) for clock, seconds in times.items()}
             for name, times, count in (("batched", batched, TRIALS), ("engine_alone", engine_alone, alone),
                                        ("plain", plain, alone))}
    vs_plain = rates["batched"]["cpu"] / rates["plain"]["cpu"]
    return {
        "trials": TRIALS, "steps": steps, "net": f"3x32 {fixed['activation']} on digits, batch 32, sgd",
        "trials_per_s": {name: rnd(rate["cpu"]) for name, rate in rates.items()},
        "vs_plain": rnd(vs_plain),
        "vs_plain_wall": rnd(rates["batched"]["wall"] / rates["plain"]["wall"]),
        "vs_engine_alone": rnd(rates["batched"]["cpu"] / rates["engine_alone"]["cpu"]),
        "target_vs_plain": TARGET,
        "meets_target": vs_plain >= TARGET,
        "one_at_a_time_timed_on": alone,
        "trials_ended_early": ended_early,
    }


main = main_of("search_speed", __doc__, run)

if __name__ == "__main__":
    main()
