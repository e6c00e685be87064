"""Probe overhead: the engine's steps/s on a single-run group against the plain PyTorch loop.

ratio = engine steps/s / plain steps/s, same net, same initial weights, same batches, same optimizer.
At probe_every=1000 the engine almost never probes (the median block holds no probe step), so that ratio
is the engine's own overhead; the drop from there to probe_every=10 and 1 is what probing costs.
Targets: >= 0.95 at probe_every=10, >= 0.67 at probe_every=1.
"""

from __future__ import annotations

from typing import Any

import torch

from bench.common import (
    DEEP_NET,
    DEFAULT_NET,
    WIDE_NET,
    interleave,
    main_of,
    make_trainer,
    median,
    plain_for,
    rnd,
    time_ratio,
)

NETS = {"default_3x32": DEFAULT_NET, "deep_10x32": DEEP_NET, "wide_8x64_batch64": WIDE_NET}
PROBE_EVERY = (10, 1, 1000)
TARGETS = {10: 0.95, 1: 0.67}


def same_start(trainer, plain) -> bool:
    """The plain net starts from the engine's weights: both give the same validation logits."""
    with torch.no_grad():
        engine_logits = trainer.stacks[0].forward(trainer.x_val, mode="eval")[0]
        plain_logits = plain.net(trainer.x_val)
    return bool(torch.allclose(engine_logits, plain_logits, atol=1e-5, rtol=1e-4))


def measure(mapping: dict[str, Any], probe_every: int, block: int, rounds: int) -> dict[str, Any]:
    trainer = make_trainer({**mapping, "probe_every": probe_every})
    plain = plain_for(trainer)
    start_matches = same_start(trainer, plain)
    times = interleave({"engine": trainer.advance, "plain": plain.advance}, block, rounds)
    engine_s, plain_s = median(times["engine"]["cpu"]), median(times["plain"]["cpu"])
    ratio, spread = time_ratio(times, "plain", "engine")
    ratio_wall, _ = time_ratio(times, "plain", "engine", clock="wall")
    result = {
        "probe_every": probe_every,
        "ratio": rnd(ratio),
        "ratio_quartiles": [rnd(q) for q in spread],
        "ratio_wall": rnd(ratio_wall),
        "engine_us_per_step": rnd(engine_s * 1e6),
        "plain_us_per_step": rnd(plain_s * 1e6),
        "engine_steps_per_s": rnd(1 / engine_s),
        "plain_steps_per_s": rnd(1 / plain_s),
        "same_initial_weights": start_matches,
    }
    if probe_every in TARGETS:
        result["target"] = f">= {TARGETS[probe_every]}"
        result["meets_target"] = result["ratio"] >= TARGETS[probe_every]
    return result


def run(quick: bool = False) -> dict[str, Any]:
    block, rounds = (20, 3) if quick else (200, 9)
    out: dict[str, Any] = {
        "what": "engine steps/s / plain PyTorch steps/s, single run, medians of interleaved blocks, CPU time",
        "block_steps": block, "rounds": rounds, "nets": {},
    }
    for name, mapping in NETS.items():
        out["nets"][name] = {f"probe_every_{pe}": measure(mapping, pe, block, rounds) for pe in PROBE_EVERY}
    return out


main = main_of("probe_overhead", __doc__, run)


if __name__ == "__main__":
    main()
