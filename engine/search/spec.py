"""A search as asked for: fixed keys, a space, a method and a budget, checked in one go, and its trials as
configs, in batches that can train in lock-step.

Every trial trains with early stopping on validation: when the fixed keys do not set `early_stopping`, a search
sets it to DEFAULT_PATIENCE evaluations (each trial's config says so, so a trial opened in the Playground
trains the same way).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from engine.search.space import Dimension, grid_trials, parse_space, random_trials
from engine.search.trials import MAX_BATCH, TrialBatch
from engine.vocabulary.config import GROUP_KEYS, ConfigError, Problem, RunConfig, _shown, parse_run, render_run

METHODS = ("grid", "random")
MAX_TRIALS = 512
DEFAULT_PATIENCE = 10


@dataclass(frozen=True)
class SearchSpec:
    base: RunConfig  # the fixed keys; a trial is the base with its searched values
    space: dict[str, Dimension]
    method: str
    trials: int  # the budget: random draws this many, a grid at most this many

    def trial_values(self) -> list[dict[str, Any]]:
        if self.method == "grid":
            return grid_trials(self.space, self.trials)
        return random_trials(self.space, self.trials, self.base.seed)

    def trial_configs(self) -> list[RunConfig]:
        """Each trial's config; a combination the vocabulary refuses raises ConfigError naming the trial."""
        configs, problems = [], []
        base = self.base.model_dump()
        for number, values in enumerate(self.trial_values()):
            try:
                configs.append(parse_run({**base, **values}))
            except ConfigError as error:
                problems.extend(p.model_copy(update={"key": f"trial {number}: {p.key}"}) for p in error.problems)
        if problems:
            raise ConfigError(problems)
        return configs

    def space_text(self) -> dict[str, str]:
        return {key: dim.spec() for key, dim in self.space.items()}


def parse_search(fixed: Mapping[str, Any], specs: Mapping[str, Any], method: Any = "random",
                 trials: Any = 16) -> SearchSpec:
    """The whole search from its parts (strings from a link or the CLI, or typed values); every problem of
    every part is raised together as one ConfigError."""
    problems: list[Problem] = []
    space: dict[str, Dimension] = {}
    try:
        space = parse_space(dict(specs))
    except ConfigError as error:
        problems.extend(error.problems)
    both = sorted(set(space) & {str(k).strip() for k in fixed})
    problems.extend(Problem(key=key, value=_shown(fixed[key]), message="fixed and searched at once",
                            allowed="either --set it or search it") for key in both)
    mapping = {str(k).strip(): v for k, v in fixed.items()}
    mapping.setdefault("early_stopping", DEFAULT_PATIENCE)
    base = None
    try:
        base = parse_run(mapping)
    except ConfigError as error:
        problems.extend(error.problems)
    method_text = str(method).strip().lower()
    if method_text not in METHODS:
        problems.append(Problem(key="method", value=_shown(method), message="unknown method",
                                allowed="one of " + ", ".join(METHODS)))
    try:
        budget = int(str(trials).strip())
    except ValueError:
        budget = 0
    if not 1 <= budget <= MAX_TRIALS:
        problems.append(Problem(key="trials", value=_shown(trials), message="not a number of trials",
                                allowed=f"a whole number from 1 to {MAX_TRIALS}"))
    if problems:
        raise ConfigError(problems)
    spec = SearchSpec(base=base, space=space, method=method_text, trials=budget)
    spec.trial_configs()  # every combination the space makes must be a valid config: fail before training
    return spec


SPACE_PREFIX = "space."  # a link's or file's `space.lr=log:1e-4:1` is the searched key lr
SEARCH_OPTIONS = ("method", "trials")


def split_search_mapping(mapping: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """A link's, preset's or file's flat mapping -> (fixed keys, space specs, options). The space is either
    `space.KEY: SPEC` entries or one `space:` mapping of KEY: SPEC; options are method and trials."""
    fixed, specs, options = {}, {}, {}
    for raw_key, value in mapping.items():
        key = str(raw_key).strip()
        if key == "space" and isinstance(value, Mapping):
            specs.update({str(k).strip(): v for k, v in value.items()})
        elif key.startswith(SPACE_PREFIX):
            specs[key.removeprefix(SPACE_PREFIX)] = value
        elif key in SEARCH_OPTIONS:
            options[key] = value
        else:
            fixed[key] = value
    return fixed, specs, options


def search_mapping(spec: SearchSpec) -> dict[str, str]:
    """The search as a flat mapping of strings (a link): the fixed keys that differ from the defaults (but
    the patience a search sets itself), `space.KEY` specs, method and trials."""
    fixed = render_run(spec.base)
    if spec.base.early_stopping == DEFAULT_PATIENCE:
        fixed.pop("early_stopping", None)
    elif spec.base.early_stopping == 0:  # off on purpose: without the key a search would set its own patience
        fixed["early_stopping"] = "0"
    return {**fixed, **{SPACE_PREFIX + k: v for k, v in spec.space_text().items()}, "method": spec.method,
            "trials": str(spec.trials)}


def batches(configs: list[RunConfig], size: int = MAX_BATCH) -> list[TrialBatch]:
    """Trials that share GROUP_KEYS and seed, in lock-step batches of at most `size`, in trial order."""
    groups: dict[tuple, list[int]] = {}
    for index, config in enumerate(configs):
        shared = tuple(getattr(config, key) for key in (*GROUP_KEYS, "seed"))
        groups.setdefault(shared, []).append(index)
    out = []
    for members in groups.values():
        for start in range(0, len(members), size):
            chunk = tuple(members[start : start + size])
            out.append(TrialBatch(indices=chunk, configs=tuple(configs[i] for i in chunk)))
    return out
