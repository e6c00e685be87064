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
