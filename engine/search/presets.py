"""Search presets (`page: search`): a lesson whose config is a search, and whose claims compare searches.

The config is a search's flat mapping (engine/search/spec.py: fixed keys, `space:` or `space.KEY` specs,
`method`, `trials`); a claim names two methods,

    - says: Random search's best validation accuracy is at least the grid's at equal budget in 8 of 10 seeds.
      methods: {better: random, than: grid}
      over_seeds: {count: 10, at_least: 8}

and holds at seed s when the search by `better` at seed s chooses a trial whose validation score (accuracy;
loss for regression) is at least that of the trial the search by `than` chooses, same budget, same seed.
`python -m engine presets --check` checks these through engine/lessons/check.py like any other preset.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from engine.search.backend import LocalBackend
from engine.search.run import SearchOutcome, run_search
from engine.search.spec import METHODS, SearchSpec, parse_search, split_search_mapping
from engine.vocabulary.config import ConfigError, Problem

if TYPE_CHECKING:  # types only: the presets module reads this one
    from engine.lessons.presets import Claim, Preset

SEARCH_PAGE = "search"


def search_of(preset: Preset) -> SearchSpec:
    fixed, specs, options = split_search_mapping(preset.config)
    return parse_search(fixed, specs, options.get("method", "random"), options.get("trials", 16))


def check_search_preset(preset: Preset, source: str) -> SearchSpec:
    """The preset's search and claims, or ConfigError naming the file and each bad key."""
    problems: list[Problem] = []
    spec = None
    try:
        spec = search_of(preset)
    except ConfigError as error:
        problems.extend(p.model_copy(update={"key": f"config.{p.key}"}) for p in error.problems)
    for number, claim in enumerate(preset.claims):
        where = f"claims.{number}"
        if claim.methods is None:
            problems.append(Problem(key=where, value=repr(claim.says)[:60], message="a search preset's claim "
                                    "compares searches", allowed="methods: {better: METHOD, than: METHOD}"))
            continue
        for side in ("better", "than"):
            method = getattr(claim.methods, side)
            if method not in METHODS:
                problems.append(Problem(key=f"{where}.methods.{side}", value=repr(method)[:60],
                                        message="unknown method", allowed="one of " + ", ".join(METHODS)))
    if problems:
        raise ConfigError(problems, source=source)
    return spec


def chosen_score(outcome: SearchOutcome) -> float:
    """The chosen trial's validation score, higher is better: accuracy, or minus the loss for regression."""
    if outcome.chosen is None:
        return float("-inf")
    result = outcome.results[outcome.chosen]
    return -result.val_loss if outcome.spec.base.is_regression else result.val_accuracy


def search_failures(preset: Preset, seeds: Sequence[int],
                    trained: Callable[[str, int], None] | None = None) -> dict[int, list[tuple[str, str]]]:
    """(says, what was seen) of each claim that fails, at each checked seed; each (seed, method) searched once."""
    spec = search_of(preset)
    outcomes: dict[tuple[int, str], SearchOutcome] = {}

    def outcome_at(seed: int, method: str) -> SearchOutcome:
        if (seed, method) not in outcomes:
            at_seed = dataclasses.replace(spec, base=spec.base.model_copy(update={"seed": seed}), method=method)
            outcomes[(seed, method)] = run_search(at_seed, LocalBackend())
            if trained is not None and all((seed, m) in outcomes for m in _methods(preset)):
                trained(preset.id, seed)
        return outcomes[(seed, method)]

    def one(claim: Claim, seed: int) -> tuple[bool, str]:
        better, than = outcome_at(seed, claim.methods.better), outcome_at(seed, claim.methods.than)
        holds = chosen_score(better) >= chosen_score(than)
        what = "validation loss" if spec.base.is_regression else "validation accuracy"
        scores = [abs(chosen_score(o)) for o in (better, than)]
        return holds, (f"{claim.methods.better} {scores[0]:.4g} vs {claim.methods.than} {scores[1]:.4g} "
                       f"({what} of the chosen trial)")

    failures: dict[int, list[tuple[str, str]]] = {}
    for seed in seeds:
        failures[seed] = []
        for claim in preset.claims:
            if claim.over_seeds is None:
                holds, seen = one(claim, seed)
            else:
                held = [one(claim, seed + i)[0] for i in range(claim.over_seeds.count)]
                holds, seen = claim.over_seeds.judge(seed, held)
            if not holds:
                failures[seed].append((claim.says, seen))
    return failures


def _methods(preset: Preset) -> set[str]:
    return {m for claim in preset.claims if claim.methods is not None
            for m in (claim.methods.better, claim.methods.than)}
