"""Hypothesis strategies for valid run and group configs, shared by the config tests (round trips, hostile ones).

Valid configs are generated from `RunConfig.model_fields` (Literal choices, ge/le bounds, hidden lists),
so a key added to the schema is covered by the tests without touching them.
"""

from __future__ import annotations

from typing import Any, get_args

from hypothesis import HealthCheck, assume, settings
from hypothesis import strategies as st

from engine.vocabulary.config import GROUP_KEYS, MAX_LAYERS, MAX_WIDTH, RunConfig, all_keys, format_hidden
from engine.vocabulary.group import GroupConfig

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
DEFAULT = RunConfig()
KEYS = all_keys()
RUN_KEYS = [k for k in KEYS if k not in GROUP_KEYS]  # keys that b./c./d. may override


def bounds(key: str) -> tuple[Any, Any]:
    metadata = RunConfig.model_fields[key].metadata
    lo = next((m.ge for m in metadata if hasattr(m, "ge")), None)
    hi = next((m.le for m in metadata if hasattr(m, "le")), None)
    return lo, hi


def kind(key: str) -> str:
    annotation = RunConfig.model_fields[key].annotation
    if key == "hidden":
        return "hidden"
    if get_args(annotation) and all(isinstance(c, str) for c in get_args(annotation)):
        return "choice"
    if annotation is bool:
        return "bool"
    if annotation is int:
        return "int"
    if annotation is float:
        return "float"
    raise AssertionError(f"no strategy for key {key!r} of type {annotation!r}: extend tests/config_strategies.py")


# ---------------------------------------------------------------- strategies for valid configs

HIDDEN = st.one_of(
    st.lists(st.integers(1, 64), max_size=8),
    st.lists(st.integers(1, MAX_WIDTH), max_size=3),  # 3x1024 on digits with norm is ~2.2M parameters
    st.lists(st.integers(1, 4), min_size=MAX_LAYERS - 5, max_size=MAX_LAYERS),
).map(tuple)


def typed_value(key: str) -> st.SearchStrategy[Any]:
    """Valid values of one key, in the type the schema holds."""
    k = kind(key)
    if k == "hidden":
        return HIDDEN
    if k == "choice":
        return st.sampled_from(get_args(RunConfig.model_fields[key].annotation))
    if k == "bool":
        return st.booleans()
    lo, hi = bounds(key)
    if k == "int":
        return st.integers(lo, hi)
    # Subnormals are left to test_float_round_trip_is_exact_through_text_and_yaml: hypothesis refuses to
    # generate them once a process has flushed denormals to zero (see test_cli's float-mode test).
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False, allow_subnormal=False)


def spellings(key: str, value: Any) -> list[Any]:
    """Ways a valid value may arrive: typed (YAML) or as text (links, --set), padded or not."""
    k = kind(key)
    if k == "hidden":
        text = ",".join(str(w) for w in value)
        return [value, list(value), [str(w) for w in value], text, f" {text} ", format_hidden(value)]
    if k == "bool":
        return [value, "true" if value else "false", "True" if value else "False", "1" if value else "0"]
    if k == "float":
        return [value, repr(value), f" {value!r} "]
    if k == "int":
        return [value, str(value), f" {value} "]
    return [value, f" {value} "]


@st.composite
def settings_of(draw: st.DrawFn, keys: list[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(typed values, how they are spelled in the mapping) for a random subset of `keys`."""
    chosen = draw(st.lists(st.sampled_from(keys), unique=True, max_size=len(keys)))
    typed, spelled = {}, {}
    for key in chosen:
        value = draw(typed_value(key))
        typed[key] = value
        spelled[key] = draw(st.sampled_from(spellings(key, value)))
    if typed.get("pretrain", "none") != "none" and typed.get("norm", "none") != "none":
        for key in ("pretrain", "norm"):  # pre-training needs norm none: the one pair of keys that excludes
            del typed[key], spelled[key]
    return typed, spelled


LABELS = (
    st.text(st.characters(codec="utf-8", categories=("L", "N", "P", "S", "Zs")), min_size=1, max_size=40)
    .map(str.strip)
    .filter(lambda t: bool(t) and t.isprintable() and len(t.encode()) <= 40)  # 40 bytes: links stay short
)


@st.composite
def group_mappings(draw: st.DrawFn) -> tuple[dict[str, Any], GroupConfig]:
    """A valid group mapping (1-4 runs, labels) and the group it must parse to, built independently."""
    base_typed, mapping = draw(settings_of(KEYS))
    base = RunConfig.model_validate(base_typed)
    runs, labels = [base], ["a"]
    if draw(st.booleans()):
        labels[0] = draw(LABELS)
        mapping["label"] = labels[0]
    for run_id in "bcd"[: draw(st.integers(0, 3))]:
        over_typed, over = draw(settings_of(RUN_KEYS))
        mapping.update({f"{run_id}.{k}": v for k, v in over.items()})
        label = draw(st.one_of(st.none(), LABELS))
        if label is None and not over:
            label = run_id  # a run with no keys at all does not exist; its label key makes it
        if label is not None:
            mapping[f"{run_id}.label"] = label
        combined = {**base_typed, **over_typed}
        # an override can pair pre-training with a norm the base set (or the other way round): not a valid run
        assume(combined.get("pretrain", "none") == "none" or combined.get("norm", "none") == "none")
        runs.append(RunConfig.model_validate(combined))
        labels.append(label if label is not None else run_id)
    return mapping, GroupConfig(runs=tuple(runs), labels=tuple(labels))
