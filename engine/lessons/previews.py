"""Previews: a small summary of a short run of each preset, for the Gallery's cards.

A preview trains the preset's group for at most PREVIEW_STEPS steps, probing about PREVIEW_POINTS
times (probing never changes the numbers of training), and keeps per run: its id, label, status and
end step, every quantity a card can plot (engine/lessons/charts.py QUANTITIES): each curve as
`[[step, value], ...]` under its name (`val_loss`, `train_loss`, `val_accuracy`), and under `depth` each
layer stat as `[[layer, value at the first probe step, value at the last], ...]` in depth order, the two
steps in `depth_steps`. The card plots the one its preset names (Preset.card_quantity). All previews
live in one committed file, presets/previews.json, written by `python -m engine previews`;
`python -m engine previews --check` trains them again and names each stored preview that differs,
writing nothing.

Each preview stores `hash`: a hash of everything its numbers depend on that a preset file can change
(every run's full config after defaults, the labels, the preview's own steps and probe spacing), so a
stale preview is found without training. Changes to the engine's code are not in the hash: the test
suite regenerates a few previews and compares their numbers exactly (training is deterministic on CPU).
Numbers are rounded to SIGNIFICANT digits; a number that is not finite (a diverged run) is null.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from engine.api import train
from engine.lessons.charts import CURVES, DEPTH_STATS
from engine.lessons.presets import PRESET_DIR, Preset, all_presets
from engine.search.presets import SEARCH_PAGE
from engine.vocabulary.group import GroupConfig
from engine.vocabulary.layers import depth_key
from engine.words.presets import WORDS_PAGE
from engine.words.previews import words_preview, words_preview_hash

PREVIEWS_FILE = PRESET_DIR / "previews.json"
FORMAT = 2  # bump when the content of a preview changes shape or meaning: every preview becomes stale
# Every preset today runs at most 1,000 steps: its preview is the whole run, so the card shows what the
# lesson says (at 300 steps Adam has not yet left SGD behind in optimizer-race). All 18 previews
# together take 15-25 s of one core; a preset with more steps is cut at PREVIEW_STEPS.
PREVIEW_STEPS = 1000
PREVIEW_POINTS = 40  # probe steps per preview, about
SIGNIFICANT = 5


def preview_group(preset: Preset) -> GroupConfig:
    """The preset's group, shortened to PREVIEW_STEPS and probed about PREVIEW_POINTS times.

    A group with early stopping keeps the preset's probe spacing: its patience counts evaluations, so
    probing more often would make it stop sooner than the preset does.
    """
    group = preset.group()
    steps = min(group.base.steps, PREVIEW_STEPS)
    probe_every = group.base.probe_every
    if not any(run.early_stopping for run in group.runs):
        probe_every = max(1, math.ceil(steps / PREVIEW_POINTS))
    runs = tuple(run.model_copy(update={"steps": steps, "probe_every": probe_every}) for run in group.runs)
    return GroupConfig(runs=runs, labels=group.labels, ids=group.ids)


def preview_hash(preset: Preset) -> str:
    """A short hash of what the preview's numbers depend on in the preset file (not the engine's code): the
    fingerprint of its preview group. (A preview of another FORMAT is not read at all.)"""
    if preset.page == WORDS_PAGE:
        return words_preview_hash(preset.config)
    return preview_group(preset).fingerprint()


def _number(value: Any) -> float | None:
    value = float(value)
    return float(f"{value:.{SIGNIFICANT}g}") if math.isfinite(value) else None


def _curve(scalars, run_id: str, name: str) -> list[list]:
    split, metric = name.split("_", 1)  # val_loss -> ("val", "loss")
    rows = scalars[(scalars["run"] == run_id) & (scalars["split"] == split) & (scalars["metric"] == metric)]
    rows = rows.sort_values("step")
    return [[int(step), _number(value)] for step, value in zip(rows["step"], rows["value"])]


def _depth(layers, run_id: str) -> tuple[list[int], dict[str, list[list]]]:
    """(first and last probe step, {stat: [[layer, at first, at last], ...]}) of one run."""
    mine = layers[(layers["run"] == run_id) & layers["stat"].isin(list(DEPTH_STATS))]
    if mine.empty:
        return [], {stat: [] for stat in DEPTH_STATS}
    first, last = int(mine["step"].min()), int(mine["step"].max())
    depth = {}
    for stat in DEPTH_STATS:
        rows = mine[mine["stat"] == stat]
        at = {step: dict(zip(rows[rows["step"] == step]["layer"].astype(str), rows[rows["step"] == step]["value"]))
              for step in (first, last)}
        names = sorted(set(at[first]) | set(at[last]), key=depth_key)
        depth[stat] = [[name, _number(at[first].get(name, math.nan)), _number(at[last].get(name, math.nan))]
                       for name in names]
    return [first, last], depth


def compute_preview(preset: Preset) -> dict[str, Any]:
    """Train the preset's short run and summarise it (deterministic on CPU: the same numbers every time)."""
    if preset.page == WORDS_PAGE:  # a Word vectors preset: its own run and curves
        return words_preview(preset.config)
    group = preview_group(preset)
    result = train(group)
    scalars, layers = result.scalars, result.layers
    statuses = {run["run"]: run for run in result.summary["runs"]}
    runs = []
    for run_id, label in zip(group.ids, group.labels):
        depth_steps, depth = _depth(layers, run_id)
        runs.append({
            "id": run_id,
            "label": label,
            "status": statuses[run_id]["status"],
            "end_step": int(statuses[run_id]["steps"]),
            **{name: _curve(scalars, run_id, name) for name in CURVES},
            "depth_steps": depth_steps,
            "depth": depth,
        })
    return {
        "hash": preview_hash(preset),
        "steps": group.base.steps,
        "preset_steps": preset.group().base.steps,
        "probe_every": group.base.probe_every,
        "runs": runs,
    }


def with_previews(presets: Iterable[Preset]) -> list[Preset]:
    """The presets that have a preview: a search preset (page: search) trains its trials on its page only."""
    return [preset for preset in presets if preset.page != SEARCH_PAGE]


def compute_previews(presets: Iterable[Preset] | None = None,
                     progress: Callable[[str, float], None] | None = None) -> dict[str, dict[str, Any]]:
    """Every preset's preview, by id; `progress(id, seconds)` after each."""
    previews = {}
    for preset in with_previews(all_presets(every_page=True) if presets is None else presets):
        started = time.perf_counter()
        previews[preset.id] = compute_preview(preset)
        if progress is not None:
            progress(preset.id, time.perf_counter() - started)
    return previews


def dumps(previews: dict[str, dict[str, Any]]) -> str:
    """The file's text: sorted by id, one line per run, so a diff shows which preset and run changed."""
    lines = ["{", f'"format": {FORMAT},',
             '"about": "Written by `python -m engine previews`; see engine/lessons/previews.py. Do not edit by hand.",',
             '"previews": {']
    ids = sorted(previews)
    for i, preset_id in enumerate(ids):
        preview = previews[preset_id]
        head = {k: v for k, v in preview.items() if k != "runs"}
        lines.append(f"{json.dumps(preset_id)}: {{")
        lines += [f"  {json.dumps(key)}: {json.dumps(value)}," for key, value in head.items()]
        lines.append('  "runs": [')
        runs = [json.dumps(run, separators=(",", ":"), allow_nan=False) for run in preview["runs"]]
        lines += [f"    {text}{',' if k < len(runs) - 1 else ''}" for k, text in enumerate(runs)]
        lines.append("  ]")
        lines.append("}," if i < len(ids) - 1 else "}")
    lines += ["}", "}"]
    return "\n".join(lines) + "\n"


def write_previews(previews: dict[str, dict[str, Any]], path: Path | None = None) -> None:
    Path(path or PREVIEWS_FILE).write_text(dumps(previews))


def read_previews(path: Path | None = None) -> dict[str, dict[str, Any]]:
    """The stored previews by preset id; {} when the file is missing, unreadable or of another format."""
    try:
        data = json.loads(Path(path or PREVIEWS_FILE).read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("previews"), dict):
        return {}
    return data["previews"]


def stale_by_hash(presets: Iterable[Preset] | None = None,
                  stored: dict[str, dict[str, Any]] | None = None) -> dict[str, str]:
    """{id: why} for every preset whose stored preview is missing or was made from another config,
    and every stored preview without a preset. Cheap: nothing trains."""
    presets = with_previews(all_presets(every_page=True) if presets is None else presets)
    stored = read_previews() if stored is None else stored
    stale = {}
    for preset in presets:
        if preset.id not in stored:
            stale[preset.id] = "no preview"
        elif stored[preset.id].get("hash") != preview_hash(preset):
            stale[preset.id] = "its config changed since the preview was made"
    for preset_id in sorted(set(stored) - {p.id for p in presets}):
        stale[preset_id] = "a preview of a preset that no longer exists"
    return stale


def stale(presets: Iterable[Preset] | None = None, stored: dict[str, dict[str, Any]] | None = None,
          fresh: dict[str, dict[str, Any]] | None = None) -> dict[str, str]:
    """{id: why} for every stored preview that differs from what the preset produces now (trains each)."""
    presets = with_previews(all_presets(every_page=True) if presets is None else presets)
    stored = read_previews() if stored is None else stored
    found = stale_by_hash(presets, stored)
    fresh = compute_previews([p for p in presets if p.id not in found]) if fresh is None else fresh
    for preset_id, preview in fresh.items():
        if preset_id not in found and stored.get(preset_id) != preview:
            found[preset_id] = "its numbers changed (the engine trains differently now)"
    return dict(sorted(found.items()))
