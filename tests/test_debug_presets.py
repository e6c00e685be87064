"""The debugging lab's Gallery lessons: one per planted bug, in topic debugging and nowhere else, run a with the
bug beside a healthy run b, each story naming the bug and where the Debug page catches it."""

from __future__ import annotations

from engine.lessons.presets import all_presets
from engine.nets.bugs import NAMES, NONE


def test_only_debugging_lessons_plant_bugs_and_each_bug_has_one():
    planted = {}
    for preset in all_presets():
        bugs = {run.bug for run in preset.group().runs} - {NONE}
        if bugs:
            assert preset.topic == "debugging", preset.id
            planted[preset.id] = bugs
    assert sorted(bug for bugs in planted.values() for bug in bugs) == sorted(NAMES[1:])  # one lesson per bug


def test_each_bug_lesson_sets_the_bug_on_run_a_beside_a_healthy_run_b_and_says_what_to_look_for():
    lessons = [p for p in all_presets() if any(run.bug != NONE for run in p.group().runs)]
    for preset in lessons:
        group = preset.group()
        a, b = group.runs
        assert a.bug != NONE and b.bug == NONE, preset.id
        assert a.model_copy(update={"bug": NONE}) == b, preset.id  # the bug is the only difference
        assert f"bug={a.bug}" in preset.story and "Debug page" in preset.story, preset.id
        assert "Watch the" in preset.story, preset.id  # what to look for
        assert preset.id == f"bug-{a.bug.replace('_', '-')}"
