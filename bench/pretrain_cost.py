"""Pre-training's cost: nothing for runs without it, and seconds for the deep sigmoid net on digits with it.

none_ratio = time per step of a pretrain=none run / of the same run with the pre-training hook removed (the
trainer's `pretraining` replaced by an empty one that is done; the target is 1.0 within noise: one check per
slice). pretraining_s: seconds of greedy pre-training (autoencoder, rbm) of a 5x256 sigmoid net on digits at the
defaults, beside the seconds its 300 fine-tuning steps take.
"""

from __future__ import annotations

import time
from typing import Any

from bench.common import interleave, main_of, make_trainer, median, rnd, time_ratio
from engine.pretraining.greedy import Pretraining

NET = {"dataset": "digits", "hidden": "5x256", "activation": "sigmoid", "lr": 0.5}


def _without_hook(mapping: dict[str, Any]):
    trainer = make_trainer(mapping)
    trainer.pretraining = Pretraining([], [], trainer.ids, trainer.data, 1)  # no cohorts: always done
    return trainer


def run(quick: bool = False) -> dict[str, Any]:
    block, rounds = (20, 3) if quick else (200, 9)
    mapping = {**NET, "steps": 100_000}
    with_hook, without = make_trainer(mapping), _without_hook(mapping)
    times = interleave({"none": with_hook.advance, "no_hook": without.advance}, block, rounds)
    ratio, spread = time_ratio(times, "none", "no_hook")
    out: dict[str, Any] = {
        "what": "pretrain=none time per step / the same without the pre-training hook (medians, CPU time)",
        "none_ratio": rnd(ratio), "none_ratio_quartiles": [rnd(q) for q in spread],
        "none_us_per_step": rnd(median(times["none"]["cpu"]) * 1e6), "pretraining_s": {},
    }
    for method in ("autoencoder", "rbm"):
        trainer = make_trainer({**NET, "steps": 300, "pretrain": method,
                                **({"pretrain_epochs": 1} if quick else {})})
        started = time.process_time()
        while not trainer.pretraining.done:
            trainer.advance(100)
        pretrain_s = time.process_time() - started
        started = time.process_time()
        trainer.run()
        out["pretraining_s"][method] = {"pretrain_s": rnd(pretrain_s),
                                        "fine_tune_300_steps_s": rnd(time.process_time() - started)}
    return out


main = main_of("pretrain_cost", __doc__, run)


if __name__ == "__main__":
    main()
