"""A search space over the vocabulary, in one spec syntax for links, the CLI and the Search page.

    lr=log:1e-4:1            log-uniform between 1e-4 and 1
    dropout=0:0.5            uniform between 0 and 0.5
    batch_size=int:16:256    a whole number between 16 and 256 (both included)
    activation=relu|tanh     choices, `|`-separated (so hidden=32,32|8x16 works); one value is one choice

`grid` takes each range at `points` evenly spaced values on its own scale (log ranges geometrically), every
choice, and every combination; `random` draws each trial's values independently from a seed. Every value is
checked against the key's own bounds when the spec is read, so a bad spec fails before anything trains, with
a Problem naming the key, the spec and what is allowed.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.vocabulary.config import ConfigError, Problem, RunConfig, _shown, all_keys, allowed_text, parse_run, to_text

SPEC_SYNTAX = ("log:LO:HI (log-uniform), LO:HI (uniform), int:LO:HI (whole numbers), or choices A|B|C, "
               "e.g. lr=log:1e-4:1, dropout=0:0.5, batch_size=int:16:256, activation=relu|tanh")
SIGNIFICANT = 4  # drawn numbers keep 4 significant digits: short links, readable tables
# Keys a trial may not vary: every trial is scored on the same validation points (the data keys), `seed` fixes
# data, split and batch order for the whole search (vary it by running the search again), and `probe_every`
# is how often early stopping evaluates.
NOT_SEARCHED = ("dataset", "samples", "noise", "val_fraction", "test_fraction", "seed", "probe_every")
# The search the Search page starts from: digits, evaluated every 20 steps (twice an epoch of 1,258 points in
# batches of 32; a search reads only validation, and each evaluation of 64 trials costs about 5 steps' work).
STARTING_FIXED = {"dataset": "digits", "steps": 1000, "probe_every": 20}
STARTING_SPACE = {"lr": "log:1e-4:10", "weight_decay": "log:1e-6:1e-1"}


@dataclass(frozen=True)
class Dimension:
    """One searched key: kind is log, uniform, int or choice; `low`/`high` bound a range, `choices` a choice."""

    key: str
    kind: str
    low: float = 0.0
    high: float = 0.0
    choices: tuple[str, ...] = ()

    @property
    def is_range(self) -> bool:
        return self.kind != "choice"

    def spec(self) -> str:
        """The spec text this dimension reads back from."""
        if self.kind == "choice":
            return "|".join(self.choices)
        prefix = {"log": "log:", "int": "int:", "uniform": ""}[self.kind]
        return f"{prefix}{_text(self.low)}:{_text(self.high)}"

    def grid(self, points: int) -> list[Any]:
        """Evenly spaced values on this dimension's own scale, both ends included; every choice."""
        if self.kind == "choice":
            return list(self.choices)
        if points == 1:
            middle = math.sqrt(self.low * self.high) if self.kind == "log" else (self.low + self.high) / 2
            return [self._fit(middle)]
        if self.kind == "log":
            values = np.geomspace(self.low, self.high, points)
        else:
            values = np.linspace(self.low, self.high, points)
        return list(dict.fromkeys(self._fit(v) for v in values))  # int ranges may repeat a value

    def draw(self, rng: np.random.Generator) -> Any:
        if self.kind == "choice":
            return self.choices[int(rng.integers(len(self.choices)))]
        if self.kind == "log":
            return self._fit(math.exp(rng.uniform(math.log(self.low), math.log(self.high))))
        if self.kind == "int":
            return int(rng.integers(int(self.low), int(self.high) + 1))
        return self._fit(rng.uniform(self.low, self.high))

    def _fit(self, value: float) -> Any:
        if self.kind == "int":
            return round(float(value))  # a Python int, also from a numpy float
        rounded = float(f"{value:.{SIGNIFICANT}g}")
        return min(max(rounded, self.low), self.high)  # rounding never leaves the range

    def at_edge(self, value: Any) -> str | None:
        """"low" or "high" when a range's value sits in the outer tenth of the range (on its own scale)."""
        if self.kind == "choice":
            return None
        scale = math.log if self.kind == "log" else float
        low, high = scale(self.low), scale(self.high)
        share = (scale(float(value)) - low) / (high - low)
        return "low" if share <= 0.1 else "high" if share >= 0.9 else None


def _text(value: float) -> str:
    return f"{int(value)}" if float(value).is_integer() and abs(value) < 1e15 else f"{value:g}"


def parse_dimension(key: str, spec: Any) -> Dimension:
    """One `key=spec`; raises ConfigError naming the key, the spec and what is allowed."""
    key = str(key).strip()
    text = str(spec).strip()

    def problem(message: str, allowed: str = SPEC_SYNTAX) -> ConfigError:
        return ConfigError([Problem(key=key or "(empty key)", value=_shown(text), message=message, allowed=allowed)])

    if key not in all_keys():
        raise problem("not a key of the vocabulary", "one of " + ", ".join(k for k in all_keys()
                                                                            if k not in NOT_SEARCHED))
    if key in NOT_SEARCHED:
        raise problem("a search does not vary this key: every trial is scored on the same validation points, "
                      "with the same seed", f"fix it with --set {key}=VALUE; search any key but "
                      + ", ".join(NOT_SEARCHED))
    if not text:
        raise problem("empty spec")
    field = RunConfig.model_fields[key]
    if "|" in text or ":" not in text:
        values = [part.strip() for part in text.split("|")]
        if any(not v for v in values):
            raise problem("an empty choice", "choices separated by |, e.g. relu|tanh")
        checked = []
        for value in values:
            try:
                checked.append(to_text(key, getattr(parse_run({key: value}), key)))
            except ConfigError as error:
                raise problem(f"choice {value!r}: {error.problems[0].message}", allowed_text(key)) from None
        return Dimension(key, "choice", choices=tuple(dict.fromkeys(checked)))
    parts = [part.strip() for part in text.split(":")]
    kind = parts[0].lower() if parts[0].lower() in ("log", "int") else "uniform"
    numbers = parts[1:] if kind != "uniform" else parts
    if len(numbers) != 2:
        raise problem("a range has a low and a high end")
    try:
        low, high = float(numbers[0]), float(numbers[1])
    except ValueError:
        raise problem("the ends of a range are numbers") from None
    if not (math.isfinite(low) and math.isfinite(high)) or not low < high:
        raise problem("a range needs finite ends, low < high")
    if field.annotation not in (int, float):
        raise problem("ranges are for number keys", "choices A|B|C: " + allowed_text(key))
    if field.annotation is int and kind != "int":
        raise problem("a whole-number key takes an int range", f"int:LO:HI within {allowed_text(key)}")
    if kind == "int" and not (low.is_integer() and high.is_integer()):
        raise problem("an int range has whole-number ends")
    if kind == "log" and low <= 0:
        raise problem("a log range starts above 0")
    for end in (low, high):  # the vocabulary's own check of each end: its bounds, defined once
        try:
            parse_run({key: int(end) if kind == "int" else end})
        except ConfigError:
            raise problem("the range leaves the key's bounds", allowed_text(key)) from None
    return Dimension(key, kind, low, high)


def parse_space(specs: dict[str, Any]) -> dict[str, Dimension]:
    """Every `key: spec`, each problem reported together (one bad key never hides another)."""
    space, problems = {}, []
    for key, spec in specs.items():
        try:
            space[str(key).strip()] = parse_dimension(key, spec)
        except ConfigError as error:
            problems.extend(error.problems)
    if not specs:
        problems.append(Problem(key="--space", value="(none)", message="a search needs at least one key",
                                allowed=SPEC_SYNTAX))
    if problems:
        raise ConfigError(problems)
    return space


def parse_assignments(items: list[str], option: str) -> tuple[dict[str, str], list[Problem]]:
    """`KEY=VALUE` strings (CLI options) -> the mapping of the well-formed ones and a Problem for each other."""
    out, problems = {}, []
    for item in items:
        key, sep, value = str(item).partition("=")
        if not sep or not key.strip():
            problems.append(Problem(key=option, value=_shown(item), message="expected KEY=SPEC", allowed=SPEC_SYNTAX))
            continue
        out[key.strip()] = value
    return out, problems


def grid_points(space: dict[str, Dimension], budget: int) -> int:
    """Points per range so the grid fits the budget: the most p with p^ranges x choices <= budget."""
    choices = math.prod(len(d.choices) for d in space.values() if not d.is_range)
    ranges = sum(d.is_range for d in space.values())
    if choices > budget:
        raise ConfigError([Problem(key="--trials", value=str(budget), message=f"a grid over these choices needs "
                                   f"at least {choices} trials", allowed=f"at least {choices}, or fewer choices")])
    if not ranges:
        return 1
    points = max(1, int((budget / choices) ** (1 / ranges) + 1e-9))
    while (points + 1) ** ranges * choices <= budget:
        points += 1
    return points


def grid_trials(space: dict[str, Dimension], budget: int) -> list[dict[str, Any]]:
    """Every combination of each key's grid values: at most `budget` trials."""
    points = grid_points(space, budget)
    keys = list(space)
    axes = [space[key].grid(points) for key in keys]
    return [dict(zip(keys, combo)) for combo in itertools.product(*axes)]


def random_trials(space: dict[str, Dimension], count: int, seed: int) -> list[dict[str, Any]]:
    """`count` trials, each key drawn independently; the same seed draws the same trials."""
    rng = np.random.default_rng([seed, 104_723])  # its own stream: never the one the data or weights use
    return [{key: dim.draw(rng) for key, dim in space.items()} for _ in range(count)]
