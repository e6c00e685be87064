"""Links: the address bar holds the config as a minimal mapping; opening a link restores it.

Every link is untrusted input. Reading one never raises: each bad value falls back to its default and
comes back as a Problem naming the key, the value and what is allowed; keys that are no key at all are
counted and listed together (a link of 1,000 junk keys is one line); the rest of the link applies.
Besides the config, a link may carry page keys: `preset=ID` (loaded first, explicit keys override
it), `autorun=1`, `lock=key1,key2` (those controls read-only) and `view=present` (presenter layout).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from engine.lessons.presets import Preset, load_preset, resolve
from engine.vocabulary.config import ConfigError, Problem, all_keys, render_run, to_text
from engine.vocabulary.group import GroupConfig, is_known_key, parse_group, parse_group_lenient, render_group

MAX_KEYS = 60  # more known keys than a link ever needs: the rest are ignored, with a warning
MAX_VALUE = 400
MAX_NAMED = 8  # unknown keys named in the one line about them; the others are counted
VIEWS = ("present",)


@dataclass
class Link:
    group: GroupConfig
    problems: list[Problem] = field(default_factory=list)
    autorun: bool = False
    preset: str | None = None
    lock: tuple[str, ...] = ()  # vocabulary keys shown read-only
    view: str | None = None  # "present": the presenter layout
    unknown: dict[str, str] = field(default_factory=dict)  # keys that are no key of a link, with their values

    def page_keys(self) -> dict[str, str]:
        """The page keys a page writes back into the address bar (not autorun: it acts once)."""
        out = {"lock": ",".join(self.lock)} if self.lock else {}
        return {**out, "view": self.view} if self.view else out

    def problem_lines(self) -> list[str]:
        """What is wrong with the link, in plain text: a line per problem, one line for all unknown keys."""
        lines = [str(problem) for problem in self.problems]
        if self.unknown:
            count = len(self.unknown)
            named = ", ".join(f"{_clip(key, 40)}={_clip(repr(value), 20)}"
                              for key, value in list(self.unknown.items())[:MAX_NAMED])
            more = f" and {count - MAX_NAMED:,} more" if count > MAX_NAMED else ""
            lines.append(f"{count:,} unknown key{'s' if count > 1 else ''}, ignored: {named}{more} (allowed: "
                         f"{', '.join(all_keys())} and label; b., c. or d. before a key for runs b-d)")
        return lines


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def read_link(params: Mapping[str, list[str]]) -> Link:
    """`params` maps each key to all its values (st.query_params.to_dict() keeps only the last; use get_all)."""
    problems: list[Problem] = []
    mapping: dict[str, Any] = {}
    unknown = {key: values[-1] if values else "" for key, values in params.items() if not is_known_key(key)}
    known = [(key, values) for key, values in params.items() if key not in unknown]
    if len(known) > MAX_KEYS:
        problems.append(Problem(key="(link)", value=f"{len(known)} keys", message="too many keys; the rest are ignored",
                                allowed=f"at most {MAX_KEYS} keys"))
    for key, values in known[:MAX_KEYS]:
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
    lock = _lock(mapping.pop("lock", ""), problems)
    view = _view(mapping.pop("view", None), problems)
    preset = mapping.get("preset")
    try:
        mapping = resolve(mapping)
    except ConfigError as error:
        problems.extend(error.problems)
        mapping.pop("preset", None)
        preset = None
    group, bad = parse_group_lenient(mapping)
    return Link(group=group, problems=problems + bad, autorun=autorun, preset=preset, lock=lock, view=view,
                unknown=unknown)


def _lock(text: str, problems: list[Problem]) -> tuple[str, ...]:
    keys = [k.strip() for k in text.split(",") if k.strip()]
    known = [k for k in keys if k in all_keys()]
    for key in keys:
        if key not in all_keys():
            problems.append(Problem(key="lock", value=repr(key)[:60], message="not a key of the vocabulary",
                                    allowed="keys such as activation,init,lr separated by commas"))
    return tuple(dict.fromkeys(known))


def _view(text: str | None, problems: list[Problem]) -> str | None:
    if text is None or not text.strip():
        return None
    if text.strip() in VIEWS:
        return text.strip()
    problems.append(Problem(key="view", value=repr(text)[:60], message="no such view",
                            allowed=" or ".join(VIEWS)))
    return None


@lru_cache(maxsize=64)
def preset_named(preset_id: str) -> Preset | None:
    """A preset by id (files ship with the app: read once), or None for an unknown id."""
    try:
        return load_preset(preset_id)
    except ConfigError:
        return None


def link_params(group: GroupConfig, preset: str | None = None, *, whole_group: bool = True) -> dict[str, str]:
    """The minimal mapping for the address bar: non-default keys only. With a preset in use, `preset=ID`
    and only the keys that differ from the preset, when that reads back to exactly the same group (with
    `whole_group=False`, the same run a: the Playground shows run a of a comparison preset)."""
    plain = render_group(group) if whole_group else render_run(group.base)
    chosen = preset_named(preset) if preset else None
    if chosen is None:
        return plain
    reference = chosen.group()
    theirs = render_group(reference) if whole_group else render_run(reference.base)
    relative = {"preset": chosen.id, **_relative(plain, theirs, group)}
    try:  # resolve()'s rule, on the preset already read: its config, then the explicit keys on top
        back = parse_group({**chosen.config, **{k: v for k, v in relative.items() if k != "preset"}})
    except ConfigError:
        return plain
    same = back == group if whole_group else back.base == group.base
    return relative if same else plain


def _relative(current: dict[str, str], preset: dict[str, str], group: GroupConfig) -> dict[str, str]:
    """The keys of `current` that differ from `preset`'s, and a key for each preset key the group undoes."""
    out = {k: v for k, v in current.items() if preset.get(k) != v}
    for key in preset.keys() - current.keys():
        run_id, _, name = key.rpartition(".")
        k = group.ids.index(run_id) if run_id in group.ids else 0 if not run_id else None
        if k is None:
            continue  # the preset has a run this group lacks: no preset-relative link (checked by the caller)
        out[key] = group.labels[k] if name == "label" else to_text(name, getattr(group.runs[k], name))
    return out
