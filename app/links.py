"""Links: the address bar holds the config as a minimal mapping; opening a link restores it.

Every link is untrusted input. Reading one never raises: each bad key falls back to its default and
comes back as a Problem naming the key, the value and what is allowed; the rest of the link applies.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.config import ConfigError, Problem
from engine.group import GroupConfig, parse_group_lenient, render_group
from engine.presets import resolve

MAX_KEYS = 60  # more keys than the vocabulary could ever need: the rest are ignored, with a warning
MAX_VALUE = 400
FLAGS = ("autorun",)


@dataclass
class Link:
    group: GroupConfig
    problems: list[Problem] = field(default_factory=list)
    autorun: bool = False
    preset: str | None = None


def read_link(params: Mapping[str, list[str]]) -> Link:
    """`params` maps each key to all its values (st.query_params.to_dict() keeps only the last; use get_all)."""
    problems: list[Problem] = []
    mapping: dict[str, Any] = {}
    for index, (key, values) in enumerate(params.items()):
        if index >= MAX_KEYS:
            problems.append(Problem(key="(link)", value=f"{len(params)} keys",
                                    message="too many keys; the rest are ignored", allowed=f"at most {MAX_KEYS} keys"))
            break
        value = values[-1] if values else ""
        if len(values) > 1:
            problems.append(Problem(key=key, value=repr(values[:3])[:60],
                                    message="given more than once; the last applies", allowed="each key once"))
        if len(value) > MAX_VALUE:
            problems.append(Problem(key=key, value=repr(value[:40]) + "...", message="value too long; ignored",
                                    allowed=f"at most {MAX_VALUE} characters"))
            continue
        mapping[key] = value
    autorun = mapping.pop("autorun", "").strip().lower() in ("1", "true", "yes")
    preset = mapping.get("preset")
    try:
        mapping = resolve(mapping)
    except ConfigError as error:
        problems.extend(error.problems)
        mapping.pop("preset", None)
        preset = None
    group, bad = parse_group_lenient(mapping)
    return Link(group=group, problems=problems + bad, autorun=autorun, preset=preset)


def link_params(group: GroupConfig) -> dict[str, str]:
    """The minimal mapping for the address bar: non-default keys only."""
    return render_group(group)
