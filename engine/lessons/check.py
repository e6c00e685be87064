"""Does every lesson hold at any seed? Run each preset's claims at several seeds (`python -m engine presets
--check --seeds 0-4`, and the test suite).

A check at seed s trains the preset with every run's `seed` set to s (data, initial weights, batch order and
dropout all follow it) and checks each claim on that run; a lottery claim (`over_seeds`, see
engine/lessons/presets.py) is checked on the runs at seeds s, s+1, ... instead. Each (preset, seed) is
trained at most once per check, however many claims and checked seeds read it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from engine.api import TrainResult, train
from engine.lessons.presets import MAX_SEED_COUNT, Claim, Preset
from engine.search.presets import SEARCH_PAGE, search_failures
from engine.vocabulary.config import ConfigError, Problem, RunConfig
from engine.vocabulary.group import GroupConfig
from engine.words.api import train_words
from engine.words.presets import WORDS_PAGE

MAX_SEEDS = 100  # seeds in one check: the 20 presets take about 45 s per seed on one core
SEED_SPEC = re.compile(r"\s*([0-9]+)\s*(?:-\s*([0-9]+)\s*)?")
# A lottery claim trains seeds s..s+count-1: every one of them stays a valid seed.
MAX_SEED = next(m.le for m in RunConfig.model_fields["seed"].metadata if hasattr(m, "le")) - MAX_SEED_COUNT
SEEDS_ALLOWED = (f"a seed (3), a range (0-4), or a comma-separated list of them (0,2,5 or 0-2,7); seeds are whole "
                 f"numbers 0-{MAX_SEED}, at most {MAX_SEEDS} of them")


def parse_seeds(text: str) -> list[int]:
    """`3`, `0-4`, `0,2,5` or `0-2,7` -> the sorted distinct seeds; anything else raises ConfigError
    naming --seeds."""
    seeds: set[int] = set()
    for item in str(text).split(","):
        match = SEED_SPEC.fullmatch(item)
        first = int(match.group(1)) if match else -1
        last = int(match.group(2) or first) if match else -1
        problem = ("not a seed or a range of seeds" if not match
                   else f"{last} > {MAX_SEED}" if last > MAX_SEED
                   else f"the range {first}-{last} runs backwards" if last < first
                   else f"more than {MAX_SEEDS} seeds" if last - first >= MAX_SEEDS
                   else None)
        seeds.update(range(first, last + 1) if problem is None else ())
        if problem is None and len(seeds) > MAX_SEEDS:
            problem = f"more than {MAX_SEEDS} seeds"
        if problem:
            raise ConfigError([Problem(key="--seeds", value=repr(text)[:60], message=problem,
                                       allowed=SEEDS_ALLOWED)])
    return sorted(seeds)


def at_seed(group: GroupConfig, seed: int) -> GroupConfig:
    """The same group with every run's seed replaced (presets pin no per-run seed, engine/lessons/presets.py)."""
    runs = tuple(run.model_copy(update={"seed": seed}) for run in group.runs)
    return GroupConfig(runs=runs, labels=group.labels, ids=group.ids)


@dataclass(frozen=True)
class Failure:
    says: str
    observed: str


@dataclass
class PresetCheck:
    """One preset's claims at each checked seed: the claims that failed there (none: the lesson holds)."""

    preset: Preset
    failures: dict[int, list[Failure]] = field(default_factory=dict)

    @property
    def holds(self) -> bool:
        return not any(self.failures.values())


def seeds_needed(preset: Preset, seeds: Sequence[int]) -> list[int]:
    """Every seed the preset is trained at: the checked ones, and those its lottery claims count over."""
    needed = set(seeds)
    for claim in preset.claims:
        if claim.over_seeds is not None:
            needed.update(s + i for s in seeds for i in range(claim.over_seeds.count))
    return sorted(needed)


def _judge(claim: Claim, seed: int, result_at: Callable[[int], TrainResult]) -> tuple[bool, str]:
    def one(at: int) -> tuple[bool, str]:
        result = result_at(at)
        return claim.check(result.scalars, result.layers, result.findings)

    if claim.over_seeds is None:
        return one(seed)
    return claim.over_seeds.judge(seed, [one(seed + i)[0] for i in range(claim.over_seeds.count)])


def check_preset(preset: Preset, seeds: Sequence[int],
                 trained: Callable[[str, int], None] | None = None) -> PresetCheck:
    """Train the preset at every seed it needs (calling `trained(preset_id, seed)` after each) and judge
    every claim at every checked seed."""
    if preset.page == SEARCH_PAGE:  # its claims compare whole searches, trained by the search's own check
        failures = search_failures(preset, seeds, trained)
        return PresetCheck(preset, {seed: [Failure(says, seen) for says, seen in found]
                                    for seed, found in failures.items()})
    if preset.page == WORDS_PAGE:  # a Word vectors preset: its own trainer, the same claims
        def run_at(seed: int) -> TrainResult:
            return train_words({**preset.config, "seed": seed})
    else:
        group = preset.group()

        def run_at(seed: int) -> TrainResult:
            return train(at_seed(group, seed))
    results: dict[int, TrainResult] = {}

    def result_at(seed: int) -> TrainResult:
        if seed not in results:
            results[seed] = run_at(seed)
            if trained is not None:
                trained(preset.id, seed)
        return results[seed]

    check = PresetCheck(preset)
    for seed in seeds:
        check.failures[seed] = [Failure(claim.says, observed) for claim in preset.claims
                                for holds, observed in [_judge(claim, seed, result_at)] if not holds]
    return check


def table(checks: Sequence[PresetCheck], seeds: Sequence[int]) -> str:
    """A preset x seed table (`ok`, or how many claims failed), then each failed claim with what was seen."""
    width = max([len("preset"), *(len(c.preset.id) for c in checks)])
    cells = [["ok" if not c.failures[s] else f"{len(c.failures[s])} failed" for s in seeds] for c in checks]
    columns = [f"seed {s}" for s in seeds]
    widths = [max(len(text) for text in [head, *(row[i] for row in cells)]) for i, head in enumerate(columns)]
    lines = ["  ".join([f"{'preset':{width}}", *(f"{h:{w}}" for h, w in zip(columns, widths))]).rstrip()]
    for check, row in zip(checks, cells):
        lines.append("  ".join([f"{check.preset.id:{width}}", *(f"{c:{w}}" for c, w in zip(row, widths))]).rstrip())
    pairs = [(c, s) for c in checks for s in seeds]
    holding = sum(not c.failures[s] for c, s in pairs)
    lines.append(f"\n{holding} of {len(pairs)} preset-seed pairs hold every claim.")
    failed = [(c.preset.id, s, f) for c, s in pairs for f in c.failures[s]]
    if failed:
        lines.append("\nClaims that do not hold:")
        lines.extend(f"  {preset_id} at seed {s}: {f.says} -- {f.observed}" for preset_id, s, f in failed)
    return "\n".join(lines)
