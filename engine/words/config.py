"""The Word vectors page's vocabulary: every key once, with type, bounds, default and help text.

Links (on the Word vectors page), preset files (page: words) and `python -m engine words --set` all read it.
Run `a` takes the plain keys and an optional run `b` its `b.` overrides of the per-model keys (`b.model=cbow`);
the corpus keys are shared, because the two models train in lock-step on the same text in the same order.
Errors reuse the net vocabulary's Problem and ConfigError, so every surface prints them alike.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from engine.vocabulary.config import ConfigError, Problem, _clean, _number, _shown, to_text
from engine.vocabulary.group import parse_label, split_prefixed
from engine.words.corpora import CORPORA

Corpus = Literal[CORPORA]
Model = Literal["skipgram", "cbow"]
MODEL_DESCRIPTIONS = {
    "skipgram": "Skip-gram: the centre word's vector predicts each context word in its window, one example "
                "per (centre, context) pair.",
    "cbow": "CBOW (continuous bag of words): the mean of the context words' vectors predicts the centre word, "
            "one example per centre word.",
}
# Keys the two runs share: the same text, cut into the same windows in the same order.
SHARED_KEYS = ("corpus", "tokens", "window", "subsample", "min_count", "epochs", "seed")
WORDS_RUN_IDS = ("a", "b")


class WordsConfig(BaseModel):
    """One model and its text. The defaults learn the planted corpus's analogies in a few seconds."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True)

    corpus: Corpus = Field("planted", title="Corpus", description="planted: a generated text with known "
                           "analogies; lee: 300 news stories (58k tokens) from gensim's test data.")
    tokens: int = Field(20_000, ge=1_000, le=200_000, title="Tokens",
                        description="Length of the planted corpus in tokens (lee has its own 58,152).")
    model: Model = Field("skipgram", title="Model", description="skipgram or cbow.")
    dim: int = Field(30, ge=2, le=300, title="Dimensions", description="Length of each word vector.")
    window: int = Field(5, ge=1, le=10, title="Window",
                        description="Context words on each side (each centre word draws its own 1..window).")
    negatives: int = Field(5, ge=1, le=25, title="Negatives",
                           description="Noise words drawn per example, from counts to the power 0.75.")
    subsample: float = Field(1e-3, ge=0, le=0.1, title="Subsampling",
                             description="Threshold t: a word of frequency f is kept with probability "
                                         "min(1, sqrt(t/f) + t/f); 0 keeps every token.")
    min_count: int = Field(5, ge=1, le=100, title="Minimum count",
                           description="Words seen fewer times get no vector.")
    lr: float = Field(0.025, ge=1e-4, le=10, title="Learning rate",
                      description="SGD step size at the start; it falls linearly to 1/10,000 of it.")
    epochs: int = Field(5, ge=1, le=50, title="Epochs", description="Passes over the text.")
    seed: int = Field(0, ge=0, le=2**31 - 1, title="Random seed",
                      description="Fixes the planted text, subsampling, windows, initial vectors and negatives.")


def words_keys() -> list[str]:
    return list(WordsConfig.model_fields)


def words_allowed(key: str) -> str:
    """What a key accepts, in words, from its field."""
    if key == "label":
        return "a short name for the run, up to 40 characters"
    field = WordsConfig.model_fields.get(key)
    if field is None:
        return "keys " + ", ".join(words_keys()) + " and label; b. before a key for run b"
    choices = get_args(field.annotation)
    if choices and all(isinstance(c, str) for c in choices):
        return "one of " + ", ".join(choices)
    lo = next((m.ge for m in field.metadata if hasattr(m, "ge")), None)
    hi = next((m.le for m in field.metadata if hasattr(m, "le")), None)
    kind = "a whole number" if field.annotation is int else "a number"
    return f"{kind} from {_number(lo)} to {_number(hi)}"


class WordsGroup(BaseModel):
    """Run a, and optionally run b, trained in lock-step."""

    model_config = ConfigDict(frozen=True)

    runs: tuple[WordsConfig, ...]
    labels: tuple[str, ...]

    @model_validator(mode="after")
    def _check(self) -> WordsGroup:
        if not 1 <= len(self.runs) <= len(WORDS_RUN_IDS) or len(self.labels) != len(self.runs):
            raise ValueError("a word-vector comparison holds one or two runs, each with a label")
        for key in SHARED_KEYS:
            if len({getattr(run, key) for run in self.runs}) > 1:
                raise ValueError(f"{key} is shared by both runs")
        return self

    @property
    def base(self) -> WordsConfig:
        return self.runs[0]

    @property
    def ids(self) -> tuple[str, ...]:
        return WORDS_RUN_IDS[: len(self.runs)]

    def fingerprint(self) -> str:
        text = json.dumps({"labels": list(self.labels), "runs": [r.model_dump(mode="json") for r in self.runs]},
                          sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def _parse_one(mapping: Mapping[str, Any], prefix: str) -> WordsConfig:
    try:
        return WordsConfig.model_validate({str(k): _clean(v) for k, v in mapping.items()})
    except ValidationError as error:
        problems = []
        for item in error.errors():
            key = str(item["loc"][0]) if item["loc"] else "(config)"
            unknown = item["type"] == "extra_forbidden"
            message = "unknown key" if unknown else str(item["msg"]).removeprefix("Value error, ")
            problems.append(Problem(key=prefix + key, value=_shown(mapping.get(key, item.get("input"))),
                                    message=message, allowed=words_allowed("" if unknown else key)))
        raise ConfigError(problems) from None


def parse_words(mapping: Mapping[str, Any]) -> WordsGroup:
    """Strict: every problem of both runs at once, as ConfigError."""
    base_map, overrides, problems = split_prefixed(mapping)
    for run_id in set(overrides) - {"b"}:
        problems.append(Problem(key=f"{run_id}.", value=_shown(overrides[run_id]), message="no such run here",
                                allowed="b. before a key for the second model (the Word vectors page has two)"))
    labels = [parse_label("a", base_map.pop("label", None), problems)]
    runs: list[WordsConfig | None] = []
    try:
        runs.append(_parse_one(base_map, ""))
    except ConfigError as error:
        problems.extend(error.problems)
        runs.append(None)
    if "b" in overrides:
        over = dict(overrides["b"])
        labels.append(parse_label("b", over.pop("label", None), problems))
        for key in [k for k in over if k in SHARED_KEYS]:
            problems.append(Problem(key=f"b.{key}", value=_shown(over.pop(key)), message="shared by both runs",
                                    allowed=f"set {key} without a prefix"))
        try:
            runs.append(_parse_one({**base_map, **over}, "b."))
        except ConfigError as error:
            problems.extend(p for p in error.problems if runs[0] is not None or p.key[2:] in over)
    if problems:
        raise ConfigError(problems)
    return WordsGroup(runs=tuple(runs), labels=tuple(labels))


def parse_words_lenient(mapping: Mapping[str, Any]) -> tuple[WordsGroup, list[Problem]]:
    """For links: each bad key is dropped (its default applies) and reported once."""
    current = {str(k).strip(): v for k, v in mapping.items()}
    reported: dict[str, Problem] = {}
    while True:
        try:
            return parse_words(current), list(reported.values())
        except ConfigError as error:
            bad = {p.key for p in error.problems if p.key in current}
            reported.update({p.key: p for p in error.problems})
            if not bad:
                return WordsGroup(runs=(WordsConfig(),), labels=("a",)), list(reported.values())
            current = {k: v for k, v in current.items() if k not in bad}


def render_words(group: WordsGroup) -> dict[str, str]:
    """The minimal mapping: keys of run a that differ from the defaults, then run b's differences from a."""
    default = WordsConfig()
    out = {k: to_text(k, getattr(group.base, k)) for k in words_keys() if getattr(group.base, k) != getattr(default, k)}
    if group.labels[0] != "a":
        out["label"] = group.labels[0]
    if len(group.runs) == 2:
        run_b = group.runs[1]
        diff = {f"b.{k}": to_text(k, getattr(run_b, k)) for k in words_keys()
                if getattr(run_b, k) != getattr(group.base, k)}
        out.update(diff)
        if group.labels[1] != "b" or not diff:
            out["b.label"] = group.labels[1]
    return out
