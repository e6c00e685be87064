"""A planted bug is never on silently: the one sentence every place that trains a group shows while one is."""

from __future__ import annotations

from engine.nets.bugs import BUGS, NONE
from engine.vocabulary.group import GroupConfig


def planted_lines(group: GroupConfig) -> list[str]:
    """One line per run with a planted bug (none when no run has one)."""
    lines = []
    for run_id, label, run in zip(group.ids, group.labels, group.runs):
        if run.bug != NONE:
            name = run_id if label == run_id else f"{run_id} ({label})"
            lines.append(f"Planted bug in run {name}: bug={run.bug}. {BUGS[run.bug].description} "
                         f"Set bug=none for the engine as it is.")
    return lines


def what_to_look_for(group: GroupConfig, k: int = 0) -> str | None:
    """Run k's planted bug's symptom and the check meant for it, in a sentence; None without a bug."""
    bug = BUGS[group.runs[k].bug]
    return None if bug.name == NONE else f"What to look for ({bug.caught_by}): {bug.look_for}"
