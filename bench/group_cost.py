"""Group cost: K=4 runs of one shape in lock-step against one run alone, both through the engine.

ratio = time per step of the group / time per step of the single run (target <= 1.3 for four
activations). The groups show the three paths of a stack: four different activations (elementwise
parts per run, one batched matmul; two sets), four seeds of the same run (fully batched), and four
optimizers (parameters copied into one row per run, each rule's lines one op per block of runs).
`vs_four_separate` divides by four single runs: below 1 is what batching saves over training the four
runs one after another.
"""

from __future__ import annotations

from typing import Any

from bench.common import (
    DEFAULT_NET,
    WIDE_NET,
    interleave,
    main_of,
    make_trainer,
    median,
    rnd,
    time_ratio,
)

NETS = {"default_3x32_batch32": DEFAULT_NET, "wide_8x64_batch64": WIDE_NET}
GROUPS: dict[str, dict[str, Any]] = {
    "four_activations": {"activation": "tanh", "b.activation": "relu", "c.activation": "sigmoid",
                         "d.activation": "gelu"},
    # The example: gelu (erf in both directions) is by far the dearest of the four above.
    "four_activations_sigmoid_tanh_relu_elu": {"activation": "sigmoid", "b.activation": "tanh",
                                               "c.activation": "relu", "d.activation": "elu"},
    "four_seeds_same_activation": {"b.seed": 1, "c.seed": 2, "d.seed": 3},
    "four_optimizers": {"optimizer": "sgd", "b.optimizer": "momentum", "c.optimizer": "rmsprop",
                        "d.optimizer": "adam", "b.lr": 0.03, "c.lr": 0.001, "d.lr": 0.001},
}
TARGET = 1.3


def measure(net: dict[str, Any], group: dict[str, Any], probe_every: int, block: int, rounds: int) -> dict[str, Any]:
    single = make_trainer({**net, "probe_every": probe_every})
    grouped = make_trainer({**net, **group, "probe_every": probe_every})
    stacks = len(grouped.stacks)
    times = interleave({"group": grouped.advance, "single": single.advance}, block, rounds)
    ratio, spread = time_ratio(times, "group", "single")
    ratio_wall, _ = time_ratio(times, "group", "single", clock="wall")
    return {
        "ratio": rnd(ratio),
        "ratio_quartiles": [rnd(q) for q in spread],
        "ratio_wall": rnd(ratio_wall),
        "vs_four_separate": rnd(ratio / 4),
        "group_us_per_step": rnd(median(times["group"]["cpu"]) * 1e6),
        "single_us_per_step": rnd(median(times["single"]["cpu"]) * 1e6),
        "stacks": stacks,
    }


def run(quick: bool = False) -> dict[str, Any]:
    block, rounds = (20, 3) if quick else (200, 9)
    probe_everies = (10,) if quick else (10, 1000)
    out: dict[str, Any] = {
        "what": "time per step of a 4-run group / of one run alone (engine both; medians, CPU time)",
        "target": f"four_activations ratio <= {TARGET} at probe_every=10",
        "block_steps": block, "rounds": rounds, "nets": {},
    }
    for net_name, net in NETS.items():
        out["nets"][net_name] = {
            f"probe_every_{pe}": {name: measure(net, group, pe, block, rounds) for name, group in GROUPS.items()}
            for pe in probe_everies
        }
        at_ten = out["nets"][net_name]["probe_every_10"]["four_activations"]
        at_ten["target"] = f"<= {TARGET}"
        at_ten["meets_target"] = at_ten["ratio"] <= TARGET
    return out


main = main_of("group_cost", __doc__, run)


if __name__ == "__main__":
    main()
