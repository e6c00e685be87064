"""Presets: one YAML file per lesson in `presets/`, validated by the config schema, with claims.

Each file has `id` (its file name), `title`, `lesson` (one plain sentence, at most MAX_LESSON characters:
the Gallery card's line), `topic` (one of TOPICS), `story` (2-5 sentences: what to watch, why, what to
try), `key_chart` (the chart the story points to, one of engine/lessons/charts.py's CHARTS on the page
the preset opens on: the page draws it first, under the story), optionally `card` (which of the key
chart's quantities the Gallery card plots; its first by default), `config` (the keys of run a, and
`b.`/`c.`/`d.` overrides for comparison runs) and `claims`. A preset with `page: words` opens on the Word
vectors page: its config is that page's vocabulary (engine/words/config.py), its key chart one of
engine/words/charts.py's and its claims read the word-vector run's scalars (engine/words/presets.py).

A claim is a measurable sentence that a test checks by running the preset, e.g.

    - says: At step 0 the back-propagated gradient of h1 is below 1% of h8's.
      value: {run: a, stat: grad_preact_rms, layer: h1, step: 0}
      divided_by: {run: a, stat: grad_preact_rms, layer: h8, step: 0}
      below: 0.01

A value names either a layer stat (`stat` + `layer`) or a scalar (`metric` + `split`), at `step`
(a step number, `first` or `last`), optionally averaged over the last `mean_of_last` points.
A claim may instead name a finding: `finding: {run: a, code: vanishing_gradients}`.

Every claim must hold at any seed: `python -m engine presets --check --seeds 0-4` (engine/lessons/check.py)
runs each preset with every run's `seed` replaced, so a preset sets `seed` at most once, unprefixed. Where
an effect is a lottery, a claim says so and counts it instead: with

      over_seeds: {count: 8, at_least: 2}

the claim's condition is checked at `count` consecutive seeds starting from the one being checked (the
preset is trained at each) and holds if it is true at `at_least` of them (and at most `at_most`, if given),
e.g. "ReLU's top layer dies in at least 2 of 8 seeds".
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

from engine.lessons.charts import CHARTS, charts_for, group_has
from engine.search.presets import SEARCH_PAGE, check_search_preset
from engine.training.findings import FINDING_CODES
from engine.vocabulary.config import ConfigError, Problem, _shown
from engine.vocabulary.files import read_yaml_file
from engine.vocabulary.group import GroupConfig, parse_group
from engine.words.charts import WORDS_CHARTS
from engine.words.presets import WORDS_PAGE, WORDS_TOPIC, check_words_chart, check_words_preset

PRESET_DIR = Path(__file__).resolve().parents[2] / "presets"
PRESET_ID = re.compile(r"[a-z0-9][a-z0-9-]{1,60}")
MAX_LESSON = 110  # one line on a Gallery card
MAX_SEED_COUNT = 20  # an over_seeds claim trains its preset this many times per checked seed, at most
TOPICS = ("gradients", "activations", "initialization", "normalization", "regularization", "optimization",
          "data", "depth", "debugging", "pretraining", "hyperparameters", WORDS_TOPIC)
# Pages whose presets' `config` is read by the page's own vocabulary, not as a GroupConfig of nets.
OWN_VOCABULARY_PAGES = (WORDS_PAGE, SEARCH_PAGE)
PAGE_NAMES = {WORDS_PAGE: "Word vectors", SEARCH_PAGE: "Search"}  # how a message names those pages


class Quantity(BaseModel):
    model_config = ConfigDict(extra="forbid")

    run: str = "a"
    stat: str | None = None
    layer: str | None = None
    metric: str | None = None
    split: Literal["train", "val"] = "val"
    step: int | Literal["first", "last"] = "last"
    mean_of_last: int = Field(1, ge=1, le=100)

    @model_validator(mode="after")
    def _one_kind(self) -> Quantity:
        if (self.stat is None) == (self.metric is None):
            raise ValueError("give either stat (with layer) or metric")
        if self.stat is not None and self.layer is None:
            raise ValueError("a stat needs a layer")
        return self

    def read(self, scalars: pd.DataFrame, layers: pd.DataFrame) -> float:
        if self.stat is not None:
            rows = layers[(layers["run"] == self.run) & (layers["stat"] == self.stat) & (layers["layer"] == self.layer)]
        else:
            rows = scalars[(scalars["run"] == self.run) & (scalars["metric"] == self.metric)
                           & (scalars["split"] == self.split)]
        series = rows.set_index("step")["value"].sort_index()
        if series.empty:
            return math.nan
        if self.step == "first":
            return float(series.iloc[0])
        if self.step == "last":
            return float(series.iloc[-self.mean_of_last:].mean())
        return float(series.get(self.step, math.nan))


class FindingRef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    run: Literal["a", "b", "c", "d"] = "a"
    code: Literal[FINDING_CODES]  # type: ignore[valid-type]
    layer: str | None = None


class OverSeeds(BaseModel):
    """How many of `count` consecutive seeds a lottery claim's condition must hold at."""

    model_config = ConfigDict(extra="forbid")

    count: int = Field(ge=2, le=MAX_SEED_COUNT)
    at_least: int | None = Field(None, ge=0)
    at_most: int | None = Field(None, ge=0)

    @model_validator(mode="after")
    def _bounds(self) -> OverSeeds:
        if self.at_least is None and self.at_most is None:
            raise ValueError("over_seeds needs at_least or at_most (how many of the seeds the claim holds at)")
        low, high = self.at_least or 0, self.count if self.at_most is None else self.at_most
        if not low <= high <= self.count:
            raise ValueError(f"over_seeds needs 0 <= at_least <= at_most <= count ({self.count})")
        return self

    def judge(self, first_seed: int, held: list[bool]) -> tuple[bool, str]:
        """(holds, what was observed) from the outcome at each seed, first_seed onward."""
        hits = sum(held)
        holds = len(held) == self.count and (self.at_least is None or hits >= self.at_least) \
            and (self.at_most is None or hits <= self.at_most)
        seeds = [first_seed + i for i, ok in enumerate(held) if ok]
        return holds, (f"true at {hits} of {len(held)} seeds {first_seed}-{first_seed + len(held) - 1}"
                       f" ({', '.join(map(str, seeds)) or 'none'})")


class MethodsRef(BaseModel):
    """A search preset's claim: the search with method `better` chooses a trial whose validation score is at
    least that of the one the search with method `than` chooses, at the same budget and seed."""

    model_config = ConfigDict(extra="forbid")

    better: str
    than: str


class Claim(BaseModel):
    model_config = ConfigDict(extra="forbid")

    says: str = Field(min_length=10)
    value: Quantity | None = None
    divided_by: Quantity | None = None
    above: float | None = None
    below: float | None = None
    finding: FindingRef | None = None
    absent: bool = False  # with `finding`: the finding must NOT be there
    over_seeds: OverSeeds | None = None  # a lottery: the condition holds at some of several seeds
    methods: MethodsRef | None = None  # search presets only (engine/search/presets.py)

    @model_validator(mode="after")
    def _complete(self) -> Claim:
        if sum(kind is not None for kind in (self.value, self.finding, self.methods)) != 1:
            raise ValueError("a claim checks one of: a value (with above/below), a finding, or methods (a search)")
        if self.value is not None and self.above is None and self.below is None:
            raise ValueError("a value claim needs above or below")
        return self

    def check(self, scalars: pd.DataFrame, layers: pd.DataFrame, findings: list[dict]) -> tuple[bool, str]:
        """(holds, what was observed)."""
        if self.finding is not None:
            ref = self.finding
            hits = [f for f in findings if f["run"] == ref.run and f["code"] == ref.code
                    and (ref.layer is None or f["layer"] == ref.layer)]
            holds = not hits if self.absent else bool(hits)
            return holds, f"findings of run {ref.run}: {[f['code'] for f in findings if f['run'] == ref.run]}"
        observed = self.value.read(scalars, layers)
        if self.divided_by is not None:
            denominator = self.divided_by.read(scalars, layers)
            observed = observed / denominator if denominator else math.nan
        holds = math.isfinite(observed)
        if self.above is not None:
            holds = holds and observed > self.above
        if self.below is not None:
            holds = holds and observed < self.below
        return holds, f"observed {observed:.4g}"


class Preset(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=f"^{PRESET_ID.pattern}$")
    title: str = Field(min_length=3, max_length=100)
    lesson: str = Field(min_length=10, max_length=MAX_LESSON)  # one plain sentence: what the preset teaches
    topic: Literal[TOPICS]  # type: ignore[valid-type]
    story: str = Field(min_length=40, max_length=1200)
    # the page it opens on: "search" (`config` is a search, engine/search/presets.py), "words" (the Word vectors
    # page, its config in engine/words/config.py); otherwise the Playground or Compare, by its runs. Before
    # key_chart: which charts exist depends on it.
    page: str = "playground"
    key_chart: str  # one of CHARTS, or of engine/words/charts.py's WORDS_CHARTS for page words
    card: str | None = None  # one of the key chart's quantities; None: its first
    config: dict[str, Any]
    claims: list[Claim] = Field(min_length=1)

    @field_validator("lesson")
    @classmethod
    def _one_sentence(cls, lesson: str) -> str:
        text = lesson.strip()
        if "\n" in text or not text.endswith((".", "!", "?")) or re.search(r"[.!?]\s+[A-Z]", text):
            raise ValueError("the lesson is one sentence on one line, ending with a full stop")
        return text

    @field_validator("key_chart")
    @classmethod
    def _a_chart_of_its_page(cls, key_chart: str, info: ValidationInfo) -> str:
        known = WORDS_CHARTS if info.data.get("page") == WORDS_PAGE else CHARTS
        if key_chart not in known:
            raise ValueError(f"{key_chart!r} is none of the charts of its page: " + ", ".join(known))
        return key_chart

    @model_validator(mode="after")
    def _card_on_key_chart(self) -> Preset:
        if self.page == WORDS_PAGE:
            return check_words_chart(self)
        if not CHARTS[self.key_chart].quantities:  # its data is not in a preview: no Gallery card could plot it
            raise ValueError(f"the key chart {self.key_chart!r} has nothing a Gallery card can plot; use one of "
                             + ", ".join(name for name, chart in CHARTS.items() if chart.quantities))
        if self.card is not None and self.card not in CHARTS[self.key_chart].quantities:
            raise ValueError(f"card {self.card!r} is not plotted by the key chart {self.key_chart!r}, which plots "
                             + ", ".join(CHARTS[self.key_chart].quantities))
        return self

    @property
    def card_quantity(self) -> str:
        """What the Gallery card plots: a quantity of the key chart (engine/lessons/charts.py)."""
        if self.page == WORDS_PAGE:
            return self.card or WORDS_CHARTS[self.key_chart][1][0]
        return self.card or CHARTS[self.key_chart].quantities[0]

    def group(self) -> GroupConfig:
        if self.page in OWN_VOCABULARY_PAGES:  # a caller that should have asked for the page first
            raise ValueError(f"preset {self.id} opens on the {self.page} page: its config is no group of nets")
        return parse_group(self.config)


def _problems(error: ValidationError) -> list[Problem]:
    problems = []
    for item in error.errors():
        key = ".".join(str(part) for part in item["loc"]) or "(file)"
        value = "(missing)" if item["type"] == "missing" else _shown(item.get("input"))
        problems.append(Problem(key=key, value=value, message=item["msg"],
                                allowed="see the preset format in engine/lessons/presets.py"))
    return problems


def load_preset_file(path: str | Path) -> Preset:
    """Read and validate one preset file; any problem raises ConfigError naming the file and key."""
    path = Path(path)
    try:
        data = read_yaml_file(path, "(file)", "a YAML preset file, at most 256 KB, without aliases")
    except ConfigError as error:
        raise ConfigError(error.problems, source=str(path)) from None
    if not isinstance(data, Mapping):
        raise ConfigError([Problem(key="(file)", value=type(data).__name__, message="not a mapping",
                                   allowed="a YAML mapping with id, title, lesson, topic, story, key_chart, config, "
                                           "claims")], source=str(path))
    try:
        preset = Preset.model_validate(data)
    except ValidationError as error:
        raise ConfigError(_problems(error), source=str(path)) from None
    if preset.page == WORDS_PAGE:  # its config is that page's vocabulary, not a group of nets
        check_words_preset(preset, path)
        return preset
    if preset.page == SEARCH_PAGE:  # its config is a search, in the search's own vocabulary
        check_search_preset(preset, str(path))
        drawn = [preset.key_chart]
    else:
        try:
            group = preset.group()
        except ConfigError as error:
            problems = [p.model_copy(update={"key": f"config.{p.key}"}) for p in error.problems]
            raise ConfigError(problems, source=str(path)) from None
        drawn = charts_for(len(group.runs), group_has(group))
    if preset.key_chart not in drawn:
        raise ConfigError([Problem(key="key_chart", value=preset.key_chart,
                                   message="is not drawn on the page this preset opens on",
                                   allowed="one of " + ", ".join(drawn))], source=str(path))
    pinned = [key for key in preset.config if str(key).strip().partition(".")[2] == "seed"]
    if pinned:  # the seed check replaces every run's seed: a run's own seed would be silently overridden
        raise ConfigError([Problem(key=f"config.{key}", value=_shown(preset.config[key]),
                                   message="a comparison run may not pin its own seed",
                                   allowed="`seed` once, without a prefix: every run shares it, and "
                                           "`presets --check --seeds` replaces it") for key in pinned],
                          source=str(path))
    if path.stem != preset.id:
        raise ConfigError([Problem(key="id", value=preset.id, message="differs from the file name",
                                   allowed=f"id: {path.stem}")], source=str(path))
    return preset


def preset_ids(directory: Path = PRESET_DIR) -> list[str]:
    return sorted(p.stem for p in directory.glob("*.yaml"))


def load_preset(preset_id: str, directory: Path = PRESET_DIR) -> Preset:
    path = directory / f"{preset_id}.yaml"
    if not PRESET_ID.fullmatch(preset_id) or not path.is_file():  # the id comes from links: no paths
        raise ConfigError([Problem(key="preset", value=repr(preset_id)[:60], message="no such preset",
                                   allowed="one of " + ", ".join(preset_ids(directory)))])
    return load_preset_file(path)


def all_presets(directory: Path = PRESET_DIR, *, every_page: bool = False) -> list[Preset]:
    """The presets of the training pages (their config is a GroupConfig), or with `every_page` also those of
    pages with their own vocabulary (OWN_VOCABULARY_PAGES)."""
    presets = [load_preset(preset_id, directory) for preset_id in preset_ids(directory)]
    return [p for p in presets if every_page or p.page not in OWN_VOCABULARY_PAGES]


def resolve(mapping: Mapping[str, Any]) -> dict[str, Any]:
    """`preset=ID` first, then the explicit keys on top of it (links, CLI)."""
    merged: dict[str, Any] = {}
    if "preset" in mapping:
        preset = load_preset(str(mapping["preset"]).strip())
        if preset.page in OWN_VOCABULARY_PAGES:  # its keys are another page's: not a group of nets
            raise ConfigError([Problem(key="preset", value=_shown(preset.id),
                                       message=f"a {PAGE_NAMES[preset.page]} preset",
                                       allowed=f"a preset of nets here; open this one on the {PAGE_NAMES[preset.page]} "
                                               f"page or with `python -m engine {preset.page} --preset`")])
        merged.update(preset.config)
    merged.update({k: v for k, v in mapping.items() if k != "preset"})
    return merged
