"""Where the engine's time goes per step, at probe_every=1 and probe_every=10 on the default net.

Three views, for whoever optimizes the engine:

- `phases`: exclusive CPU time per step of each part of a step (sampling, forward, loss and its gradient,
  backward, probes, optimizer, snapshot, validation, ...), measured by wrapping those methods with a timer
  for the duration of the benchmark (no file is changed). The timers' own cost is what `us_per_step` exceeds
  `unwrapped_us_per_step` by (the same number of steps without them): a few tens of µs per step.
  `step_rest` is what `_one_step` spends inline (batch indexing, the loss list and `.tolist()`, the
  divergence check, the recorder, ...). Methods the engine no longer has are listed in
  `not_timed`; their time falls to the caller.
- `python`: cProfile, top functions by own time and by cumulative time (profiling inflates Python-heavy
  code; read it for ranking, not for absolute numbers).
- `torch_ops`: torch.profiler, top aten ops by self CPU time, with calls per step.

`groups_probe_every_10` splits the steps of the three 4-run groups of group_cost the same way.
`plain_loop` splits the plain PyTorch loop's step the same way, for comparison.
"""

from __future__ import annotations

import contextlib
import cProfile
import os
import pstats
import time
import types
from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import Any

import torch.nn.functional as F

import engine.training.trainer
from bench.common import DEFAULT_NET, main_of, make_trainer, plain_for, rnd
from bench.group_cost import GROUPS
from engine.training.trainer import GroupTrainer

TOP = 15


# ---------------------------------------------------------------------- phase timers

class PhaseClock:
    """Exclusive time per named phase: time spent in a nested timed phase counts for the inner one."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self._stack: list[list] = []  # [name, start, time spent in timed children]
        self.missing: list[str] = []  # methods the engine no longer has

    def wrap(self, name: str, function: Callable) -> Callable:
        def timed(*args: Any, **kwargs: Any) -> Any:
            self._stack.append([name, time.process_time(), 0.0])
            try:
                return function(*args, **kwargs)
            finally:
                _, start, children = self._stack.pop()
                elapsed = time.process_time() - start
                self.seconds[name] += elapsed - children
                self.calls[name] += 1
                if self._stack:
                    self._stack[-1][2] += elapsed

        return timed


@contextlib.contextmanager
def phase_timers(trainer: GroupTrainer, clock: PhaseClock) -> Iterator[None]:
    """Wrap the parts of a step on this trainer's objects for the duration."""
    patched: list[tuple[Any, str, bool, Any]] = []  # (owner, attribute, had its own attribute, its value)

    def patch(owner: Any, attribute: str, name: str) -> None:
        if not callable(getattr(owner, attribute, None)):  # the engine changed: time what is still there
            owner_name = owner.__name__ if isinstance(owner, (type, types.ModuleType)) else type(owner).__name__
            clock.missing.append(f"{owner_name}.{attribute}")
            return
        own = attribute in vars(owner)
        patched.append((owner, attribute, own, vars(owner).get(attribute)))
        setattr(owner, attribute, clock.wrap(name, getattr(owner, attribute)))

    patch(trainer, "_one_step", "step_rest")
    patch(trainer.sampler, "next", "sample_batch")
    patch(trainer, "_loss_and_grad", "loss")
    patch(trainer, "_validate", "validate_rest")
    patch(trainer, "_snapshot", "snapshot_rest")
    patch(trainer, "_early_stopping", "early_stopping")
    patch(trainer.history, "add", "history_add")
    for stack in trainer.stacks:
        patch(stack, "train_forward", "forward")
        patch(stack, "train_backward", "backward")
        patch(stack.recorder, "keep", "recorder_hooks")
    for probe in trainer.probes:
        patch(probe, "measure", "probe_measure")
        patch(probe, "after_update", "probe_after_update")
    for optimizer in trainer.optimizers:
        patch(optimizer, "step", "optimizer_step")
    try:
        yield
    finally:
        for owner, attribute, own, value in reversed(patched):
            if own:
                setattr(owner, attribute, value)
            else:
                delattr(owner, attribute)


def phases(probe_every: int, steps: int, mapping: dict[str, Any] | None = None) -> dict[str, Any]:
    trainer = make_trainer({**(DEFAULT_NET if mapping is None else mapping), "probe_every": probe_every})
    trainer.advance(probe_every * 5)  # warm up past the first probe (it fixes the histogram ranges)
    start = time.process_time()
    trainer.advance(steps)
    unwrapped = time.process_time() - start
    clock = PhaseClock()
    with phase_timers(trainer, clock):
        start = time.process_time()
        trainer.advance(steps)
        total = time.process_time() - start
    rows = sorted(clock.seconds.items(), key=lambda item: -item[1])
    return {
        "us_per_step": rnd(total / steps * 1e6),
        "unwrapped_us_per_step": rnd(unwrapped / steps * 1e6),  # the same steps without the timers
        "phases_us_per_step": {name: rnd(seconds / steps * 1e6) for name, seconds in rows},
        "phases_share": {name: rnd(seconds / total, 2) for name, seconds in rows},
        "calls_per_step": {name: rnd(clock.calls[name] / steps) for name, _ in rows},
        **({"not_timed": clock.missing} if clock.missing else {}),
    }


# ---------------------------------------------------------------------- cProfile

def _short(func: tuple[str, int, str]) -> str:
    filename, line, name = func
    if filename == "~":
        return name  # a builtin, e.g. <method 'tolist' of 'torch._C.TensorBase' objects>
    for marker in ("site-packages" + os.sep, str(engine.training.trainer.__file__).rsplit(os.sep, 3)[0] + os.sep):
        if marker in filename:
            filename = filename.split(marker, 1)[1]
            break
    return f"{filename}:{line}({name})"


def python_profile(probe_every: int, steps: int) -> dict[str, Any]:
    trainer = make_trainer({**DEFAULT_NET, "probe_every": probe_every})
    trainer.advance(probe_every * 5)
    profiler = cProfile.Profile()
    profiler.enable()
    trainer.advance(steps)
    profiler.disable()
    stats = pstats.Stats(profiler)
    entries = stats.stats  # func -> (primitive calls, calls, own time, cumulative time, callers)

    def table(index: int) -> list[dict[str, Any]]:
        ranked = sorted(entries.items(), key=lambda item: -item[1][index])[:TOP]
        return [{"function": _short(func), "calls_per_step": rnd(calls / steps),
                 "own_us_per_step": rnd(own / steps * 1e6), "cum_us_per_step": rnd(cum / steps * 1e6)}
                for func, (_, calls, own, cum, _) in ranked]

    return {"profiled_us_per_step": rnd(stats.total_tt / steps * 1e6), "by_own_time": table(2),
            "by_cumulative_time": table(3)}


# ---------------------------------------------------------------------- torch.profiler

def torch_profile(probe_every: int, steps: int) -> dict[str, Any]:
    from torch.profiler import ProfilerActivity, profile

    trainer = make_trainer({**DEFAULT_NET, "probe_every": probe_every})
    trainer.advance(probe_every * 5)
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        trainer.advance(steps)
    events = [e for e in prof.key_averages() if not e.key.startswith("ProfilerStep")]
    total_self = sum(e.self_cpu_time_total for e in events)
    ranked = sorted(events, key=lambda e: -e.self_cpu_time_total)[:TOP]
    return {
        "steps": steps,
        "ops_self_us_per_step": rnd(total_self / steps),
        "op_calls_per_step": rnd(sum(e.count for e in events) / steps),
        "top_ops": [{"op": e.key, "calls_per_step": rnd(e.count / steps),
                     "self_us_per_step": rnd(e.self_cpu_time_total / steps),
                     "share_of_op_time": rnd(e.self_cpu_time_total / total_self, 2)} for e in ranked],
    }


def plain_phases(steps: int) -> dict[str, Any]:
    """The plain loop's step split the same way (the same timer calls around each part), for comparison."""
    trainer = make_trainer(DEFAULT_NET)
    plain = plain_for(trainer)
    plain.advance(100)
    start = time.process_time()
    plain.advance(steps)
    unwrapped = time.process_time() - start
    net, opt, sampler, x_all, y_all = plain.net, plain.opt, plain.sampler, plain.x, plain.y
    clock = time.process_time
    parts = dict.fromkeys(("sample_batch", "forward", "loss", "backward", "optimizer_step", "zero_grad"), 0.0)
    start = clock()
    for _ in range(steps):
        t0 = clock()
        batch = sampler.next()
        x, y = x_all[batch], y_all[batch]
        t1 = clock()
        logits = net(x)
        t2 = clock()
        loss = F.cross_entropy(logits, y)
        t3 = clock()
        loss.backward()
        t4 = clock()
        opt.step()
        t5 = clock()
        opt.zero_grad()
        t6 = clock()
        for name, seconds in zip(parts, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4, t6 - t5)):
            parts[name] += seconds
    total = clock() - start
    return {
        "us_per_step": rnd(total / steps * 1e6),
        "unwrapped_us_per_step": rnd(unwrapped / steps * 1e6),
        "phases_us_per_step": {name: rnd(seconds / steps * 1e6) for name, seconds in parts.items()},
    }


def run(quick: bool = False) -> dict[str, Any]:
    steps = {1: 50, 10: 200} if quick else {1: 1000, 10: 4000}
    out: dict[str, Any] = {
        "what": "where the engine's time goes per step, default net (spiral, 32,32,32, tanh, sgd, batch 32)",
        "plain_loop": plain_phases(steps[10]),
    }
    for pe, n in steps.items():
        out[f"probe_every_{pe}"] = {
            "steps": n,
            "phases": phases(pe, n),
            "python": python_profile(pe, n),
            "torch_ops": torch_profile(pe, min(n, 50 * pe)),  # its event list grows with every op: keep it short
        }
    # The three paths of a 4-run stack (see group_cost), split the same way, at probe_every=10.
    group_steps = steps[10] // 4
    out["groups_probe_every_10"] = {"steps": group_steps, "single": phases(10, group_steps)} | {
        name: phases(10, group_steps, {**DEFAULT_NET, **group}) for name, group in GROUPS.items()
    }
    return out


main = main_of("profile", __doc__, run)


if __name__ == "__main__":
    main()
