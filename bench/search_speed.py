"""Search speed: trials per second of a 64-trial random search over lr and weight_decay on a 3x32 net (digits),
batched (engine/search: trials in lock-step, tens of runs per stack), against the same trials one at a time
in a plain PyTorch loop and one at a time through the engine (the same search code, one trial per batch).

Every contender trains every trial for the same steps (early stopping off, so all do equal work) and measures
validation loss and accuracy (all 539 validation points) every `probe_every` steps, which is what a search
reads: every 20 steps, as the Search page's starting search does (engine/search/space.py STARTING_FIXED).
`vs_plain` = batched trials/s ÷ plain trials/s (the goal is at least 10), `vs_engine_alone` = batched ÷ the
engine one at a time. Full mode also measures every 10 steps (the vocabulary's default, for the layer charts:
validation then costs the batched search about a third of its time) and the same search on relu. The clock is
CPU time (one torch thread). The contenders alternate in rounds (see `measure`), each ratio is the median of
the rounds'; full mode: 8 rounds, each the whole batched search and 8 trials of each other contender; quick
mode trains 50 steps in 2 rounds of 2 trials (a few seconds: it keeps the benchmark working, its numbers are
noisy).
"""

from __future__ import annotations

import time
from typing import Any

import torch
import torch.nn.functional as F

from bench.common import PlainLoop, main_of, median, rnd, time_ratio
from engine.search.backend import LocalBackend
from engine.search.run import run_search
from engine.search.space import STARTING_FIXED
from engine.search.spec import batches, parse_search
from engine.search.trials import train_batch
from engine.training.data import make_dataset
from engine.training.trainer import VAL_EVAL_MAX

TRIALS = 64
FIXED = {"dataset": STARTING_FIXED["dataset"], "probe_every": STARTING_FIXED["probe_every"], "hidden": "3x32",
         "activation": "tanh", "early_stopping": 0}
SPACE = {"lr": "log:1e-3:1", "weight_decay": "log:1e-6:1e-2"}
TARGET = 10.0
CONTENDERS = ("batched", "plain", "engine_alone")


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
    if not quick:
        variants = {"probe_every_10": {**FIXED, "probe_every": 10},  # validation twice as often
                    "relu": {**FIXED, "activation": "relu"}}  # how much of what is left is tanh's arithmetic
        for name, fixed in variants.items():
            variant = measure(fixed, quick)
            result[name] = {key: variant[key] for key in ("net", "trials_per_s", "vs_plain", "vs_plain_quartiles",
                                                           "vs_engine_alone")}
    return result


def measure(fixed: dict[str, Any], quick: bool) -> dict[str, Any]:
    """Rounds of: the whole batched search, then the next `per_round` trials one at a time in the plain loop and
    through the engine (the order flips every round). Each round gives a ratio of seconds per trial measured
    back to back, so a slow spell of the shared machine mostly cancels out; the result is their median."""
    steps, rounds = (50, 2) if quick else (1000, 8)
    per_round = 2 if quick else TRIALS // rounds
    spec = parse_search({**fixed, "steps": steps}, SPACE, "random", TRIALS)
    configs = spec.trial_configs()
    data = make_dataset(configs[0])  # the plain loop loads the data once, as a person would
    # Warm-up: the first call of each path pays one-off costs (lazy imports, allocator, kernels' first use).
    warm = parse_search({**fixed, "steps": 20}, SPACE, "random", 2)
    run_search(warm, LocalBackend())
    train_batch(batches(warm.trial_configs(), size=1)[0])
    plain_trial(warm.trial_configs()[0], data)

    ended_early = 0
    times: dict[str, dict[str, list[float]]] = {name: {"cpu": [], "wall": []} for name in CONTENDERS}
    for r in range(rounds):
        mine = configs[r * per_round:(r + 1) * per_round]
        contenders = {
            "batched": (TRIALS, lambda: run_search(spec, LocalBackend())),
            "plain": (per_round, lambda mine=mine: [plain_trial(config, data) for config in mine]),
            "engine_alone": (per_round, lambda mine=mine: [train_batch(batch) for batch in batches(mine, size=1)]),
        }
        for name in CONTENDERS if r % 2 == 0 else reversed(CONTENDERS):
            count, contend = contenders[name]
            start = _clock()
            outcome = contend()
            for clock, seconds in _since(start).items():
                times[name][clock].append(seconds / count)  # seconds per trial
            if name == "batched":  # diverged trials end early: alone, such a trial costs less
                ended_early = max(ended_early, sum(r.steps < steps for r in outcome.results))

    vs_plain, spread = time_ratio(times, "plain", "batched")
    return {
        "trials": TRIALS, "steps": steps, "rounds": rounds,
        "net": f"3x32 {fixed['activation']} on digits, batch 32, sgd, validation every {fixed['probe_every']} steps",
        "trials_per_s": {name: rnd(1 / median(t["cpu"])) for name, t in times.items()},
        "vs_plain": rnd(vs_plain),
        "vs_plain_quartiles": [rnd(q) for q in spread],
        "vs_plain_wall": rnd(time_ratio(times, "plain", "batched", clock="wall")[0]),
        "vs_engine_alone": rnd(time_ratio(times, "engine_alone", "batched")[0]),
        "target_vs_plain": TARGET,
        "meets_target": vs_plain >= TARGET,
        "one_at_a_time_timed_on": rounds * per_round,
        "trials_ended_early": ended_early,
    }


main = main_of("search_speed", __doc__, run)

if __name__ == "__main__":
    main()
