"""A comparison group: run `a` from the plain keys, runs b-d from `b.`/`c.`/`d.` overrides.

`parse_group` is strict (raises ConfigError listing every problem); `parse_group_lenient` is for
untrusted links: each bad key falls back to its default and is reported, the rest still applies.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, model_validator

from engine.vocabulary.config import (
    GROUP_KEYS,
    MAX_RUNS,
    RUN_IDS,
    ConfigError,
    Problem,
    RunConfig,
    _shown,
    all_keys,
    allowed_text,
    parse_run,
    render_run,
    to_text,
)

MAX_LABEL = 40  # characters, and at most as many bytes of UTF-8: links stay short
# Keys that are not run settings but may stand in a link or preset mapping beside them.
PAGE_KEYS = ("preset", "autorun", "lock", "view", "page")


class GroupConfig(BaseModel):
    """K = 1..4 runs trained in lock-step on the same batches."""

    model_config = ConfigDict(frozen=True)

    runs: tuple[RunConfig, ...]
    labels: tuple[str, ...]
    ids: tuple[str, ...] = ()  # run ids as written in the mapping (a, then b/c/d); default a, b, c...

    @model_validator(mode="before")
    @classmethod
    def _default_ids(cls, data: Any) -> Any:
        if isinstance(data, dict) and not data.get("ids"):
            data = {**data, "ids": RUN_IDS[: len(data.get("runs", ()))]}
        return data

    @model_validator(mode="after")
    def _check(self) -> GroupConfig:
        if not 1 <= len(self.runs) <= MAX_RUNS or not len(self.labels) == len(self.ids) == len(self.runs):
            raise ValueError(f"a group holds 1-{MAX_RUNS} runs, each with an id and a label")
        if self.ids[0] != "a" or len(set(self.ids)) != len(self.ids) or not set(self.ids) <= set(RUN_IDS):
            raise ValueError("run ids are a, then distinct ones of b, c, d")
        for key in GROUP_KEYS:
            if len({getattr(run, key) for run in self.runs}) > 1:
                raise ValueError(f"{key} is shared by all runs of a group")
        return self

    @property
    def base(self) -> RunConfig:
        return self.runs[0]

    @classmethod
    def single(cls, run: RunConfig | None = None) -> GroupConfig:
        return cls(runs=(run or RunConfig(),), labels=("a",))

    def fingerprint(self) -> str:
        """A short hash of everything that makes the group: ids, labels and each run's full config (defaults
        included). Equal for equal groups however they were written (`32,32` or `2x32`), stable across
        processes and versions of Python; identical configs share a job by it, previews are stamped with it."""
        canonical = {
            "ids": list(self.ids),
            "labels": list(self.labels),
            "runs": [run.model_dump(mode="json") for run in self.runs],
        }
        text = json.dumps(canonical, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def with_steps(self, steps: int) -> GroupConfig:
        runs = tuple(r.model_copy(update={"steps": steps}) for r in self.runs)
        return GroupConfig(runs=runs, labels=self.labels, ids=self.ids)


def is_known_key(key: str) -> bool:
    """Whether a link's or file's key names anything: a vocabulary key or `label`, plain or after b., c. or d.,
    or a page key. (Whether its value is allowed is the parser's question.)"""
    prefix, dot, name = key.strip().partition(".")
    if not dot:
        return prefix in all_keys() or prefix == "label" or prefix in PAGE_KEYS
    return prefix in RUN_IDS[1:] and (name in all_keys() or name == "label")


def split_prefixed(mapping: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, dict[str, Any]], list[Problem]]:
    """Separate plain keys from `b.key` overrides; unknown prefixes become problems."""
    base: dict[str, Any] = {}
    overrides: dict[str, dict[str, Any]] = {}
    problems = []
    for raw_key, value in mapping.items():
        key = str(raw_key).strip()
        if "." in key:
            prefix, _, name = key.partition(".")
            if prefix not in RUN_IDS[1:]:
                problems.append(Problem(key=key, value=_shown(value), message="unknown run prefix",
                                        allowed="b., c. or d. before a key, e.g. b.activation=relu "
                                                "(run a takes the plain keys)"))
                continue
            overrides.setdefault(prefix, {})[name] = value
        elif key in PAGE_KEYS:
            continue
        else:
            base[key] = value
    return base, overrides, problems


def parse_label(run_id: str, value: Any, problems: list[Problem]) -> str:
    """A run's label, or its id when `value` is missing or unusable (reported in `problems`)."""
    if value is None:
        return run_id
    text = str(value).strip()
    if not text or len(text.encode()) > MAX_LABEL or not text.isprintable():
        key = "label" if run_id == "a" else f"{run_id}.label"
        problems.append(Problem(key=key, value=_shown(value), message="not a usable label",
                                allowed=allowed_text("label")))
        return run_id
    return text


def parse_group(mapping: Mapping[str, Any]) -> GroupConfig:
    """Strict: every problem of every run is collected, then raised together."""
    base_map, overrides, problems = split_prefixed(mapping)
    labels = [parse_label("a", base_map.pop("label", None), problems)]
    try:
        base = parse_run(base_map)
    except ConfigError as error:
        problems.extend(error.problems)
        base = None
    runs = [base]
    ids = ["a"]
    for run_id in RUN_IDS[1:]:
        if run_id not in overrides:
            continue
        ids.append(run_id)
        over = dict(overrides[run_id])
        labels.append(parse_label(run_id, over.pop("label", None), problems))
        for key in over:
            if key in GROUP_KEYS:
                problems.append(Problem(key=f"{run_id}.{key}", value=_shown(over[key]),
                                        message="shared by all runs of a comparison",
                                        allowed=f"set {key} without a prefix"))
        over = {k: v for k, v in over.items() if k not in GROUP_KEYS}
        merged = {**base_map, **over}
        try:
            runs.append(parse_run(merged, prefix=f"{run_id}."))
        except ConfigError as error:
            # Problems already reported for run a are not repeated under the prefix.
            problems.extend(p for p in error.problems if base is not None or p.key.partition(".")[2] in over)
            runs.append(None)
    if problems:
        raise ConfigError(problems)
    return GroupConfig(runs=tuple(runs), labels=tuple(labels), ids=tuple(ids))


def _culprits(problem: Problem, current: Mapping[str, Any]) -> set[str]:
    """The keys of `current` to drop for a problem: the key itself, or for the parameter cap reported
    on `hidden` (or `b.hidden`), the run's own hidden, else its norm, else the dataset."""
    if problem.key in current:
        return {problem.key}
    prefix, _, name = problem.key.rpartition(".")
    if name == "hidden":
        candidates = [f"{prefix}.hidden", f"{prefix}.norm"] if prefix else []
        for key in [*candidates, "hidden", "norm", "dataset"]:
            if key in current:
                return {key}
    return set()


def parse_group_lenient(mapping: Mapping[str, Any]) -> tuple[GroupConfig, list[Problem]]:
    """For links: drop each bad key (its default applies), report it once, keep everything else."""
    current = {str(k).strip(): v for k, v in mapping.items()}
    reported: dict[str, Problem] = {}
    while True:
        try:
            return parse_group(current), list(reported.values())
        except ConfigError as error:
            bad: set[str] = set()
            for problem in error.problems:
                reported.setdefault(problem.key, problem)
                bad |= _culprits(problem, current)
            if not bad:  # cannot happen for mappings of strings; never loop forever on a surprise
                return GroupConfig.single(), list(reported.values())
            current = {k: v for k, v in current.items() if k not in bad}


def render_group(group: GroupConfig) -> dict[str, str]:
    """The minimal mapping: base keys that differ from the defaults, then each run's differences."""
    out = render_run(group.base)
    if group.labels[0] != "a":
        out["label"] = group.labels[0]
    for run_id, run, label in zip(group.ids[1:], group.runs[1:], group.labels[1:]):
        diff = render_run(run, base=group.base)
        out.update({f"{run_id}.{k}": v for k, v in diff.items()})
        if label != run_id or not diff:
            out[f"{run_id}.label"] = label  # an identical run still needs a key to exist
    return out


def typed_mapping(group: GroupConfig) -> dict[str, Any]:
    """The minimal mapping with YAML types (numbers, booleans), as a preset's `config:` is written."""
    out: dict[str, Any] = {}
    for key, text in render_group(group).items():
        name = key.rpartition(".")[2]
        out[key] = text if name in ("hidden", "label") else yaml.safe_load(text)
    return out


def config_yaml(group: GroupConfig) -> str:
    """The group as the YAML file that `--config`, a preset's `config:` and the download all read."""
    return yaml.safe_dump(typed_mapping(group), sort_keys=False)


def differences(group: GroupConfig) -> dict[str, tuple[str, ...]]:
    """The keys whose values differ between the group's runs, in vocabulary order: key -> each run's value
    as text (what a comparison changes, listed above its charts)."""
    out = {}
    for key in all_keys():
        texts = tuple(to_text(key, getattr(run, key)) for run in group.runs)
        if len(set(texts)) > 1:
            out[key] = texts
    return out
