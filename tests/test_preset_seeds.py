"""Every lesson at any seed: `python -m engine presets --check`, its seed specs, its table and exit code, the
`over_seeds` claims that count a lottery, and a sample of the real presets at all five seeds.

Which presets run at seeds 1-4 changes every day (seed 0 of every preset runs in tests/test_presets.py):
the day's number picks them, printed in the test header; set PRESET_SEED_SAMPLE=<day number> to rerun a
day's sample, or PRESET_SEED_SAMPLE=all for every preset.
"""

from __future__ import annotations

import datetime
import os
import random
from pathlib import Path

import pytest
import yaml

from engine.api import train
from engine.cli import main
from engine.lessons.check import MAX_SEED, at_seed, check_preset, parse_seeds, seeds_needed
from engine.lessons.presets import OverSeeds, load_preset, load_preset_file, preset_ids
from engine.vocabulary.config import ConfigError
from engine.vocabulary.group import parse_group

PRESETS = preset_ids()
SAMPLE_SIZE = 6  # presets at seeds 1-4 per run: about a minute of one core
SAMPLE_DAY = os.environ.get("PRESET_SEED_SAMPLE") or str(datetime.date.today().toordinal())
SAMPLE = PRESETS if SAMPLE_DAY == "all" else sorted(random.Random(int(SAMPLE_DAY)).sample(PRESETS, SAMPLE_SIZE))


@pytest.fixture(scope="module", autouse=True)
def _say_which_presets(request):
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is not None and capture is not None:
        with capture.global_and_fixture_disabled():
            reporter.write_line(f"\npresets checked at seeds 1-4 (PRESET_SEED_SAMPLE={SAMPLE_DAY}): "
                                + ", ".join(SAMPLE))


# ---------------------------------------------------------------- the real presets at five seeds


@pytest.mark.slow
@pytest.mark.parametrize("preset_id", SAMPLE)
def test_a_sample_of_lessons_holds_at_seeds_1_to_4(preset_id):
    check = check_preset(load_preset(preset_id), [1, 2, 3, 4])
    failed = [f"seed {seed}: {f.says} -- {f.observed}" for seed, fs in check.failures.items() for f in fs]
    assert not failed, f"{preset_id}: claims that do not hold:\n  " + "\n  ".join(failed)


# ---------------------------------------------------------------- seed specs


@pytest.mark.parametrize(("spec", "seeds"), [
    ("3", [3]), ("0-4", [0, 1, 2, 3, 4]), ("0,2,5", [0, 2, 5]), ("0-2,7", [0, 1, 2, 7]), (" 5 , 1-2 ", [1, 2, 5]),
    ("2,2,1-3", [1, 2, 3]), (str(MAX_SEED), [MAX_SEED]), ("0-99,50-99", list(range(100))),
])
def test_seed_specs(spec, seeds):
    assert parse_seeds(spec) == seeds


@pytest.mark.parametrize(("spec", "why"), [
    ("", "not a seed"), ("a", "not a seed"), ("-1", "not a seed"), ("1.5", "not a seed"), ("0-4,", "not a seed"),
    ("4-2", "runs backwards"), ("0-100", "more than 100 seeds"), ("0-60,61-120", "more than 100 seeds"),
    ("0-2000000000", "more than 100 seeds"), (str(MAX_SEED + 1), f"> {MAX_SEED}"),
])
def test_a_bad_seed_spec_exits_2_naming_seeds_the_value_and_what_is_allowed(capsys, spec, why):
    assert main(["presets", "--check", "--seeds", spec, "--preset", "zeros-init"]) == 2
    err = capsys.readouterr().err
    assert f"--seeds: got {spec!r}" in err and why in err, err
    assert "0-4" in err and "0,2,5" in err, err  # what is allowed
    assert "checking" not in err  # nothing was trained


def test_seeds_without_check_is_named(capsys):
    assert main(["presets", "--seeds", "0-4"]) == 2
    assert "--seeds" in capsys.readouterr().err


# ---------------------------------------------------------------- the check on presets in another folder


TINY = {
    "id": "tiny",
    "title": "A tiny preset",
    "lesson": "A tiny net learns the circles a little.",
    "topic": "debugging",
    "story": "Two short runs of a tiny net. The check trains them at every seed it is given.",
    "key_chart": "loss",
    "config": {"dataset": "circles", "hidden": "8", "steps": 30, "probe_every": 10, "lr": 0.3,
               "b.lr": 1.0e-5},
    "claims": [{"says": "Run a's training loss at step 0 is a positive number.",
                "value": {"run": "a", "metric": "loss", "split": "train", "step": 0}, "above": 0}],
}
FALSE_CLAIM = {"says": "Run b's validation loss ends below zero (it cannot).",
               "value": {"run": "b", "metric": "loss", "split": "val"}, "below": 0}


def _folder(tmp_path: Path, *extra_claims: dict, name: str = "tiny", config: dict | None = None) -> Path:
    data = {**TINY, "id": name, "claims": TINY["claims"] + list(extra_claims),
            "config": {**TINY["config"], **(config or {})}}
    (tmp_path / f"{name}.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    return tmp_path


def test_the_check_prints_a_table_and_exits_0_when_every_claim_holds(tmp_path, capsys):
    folder = _folder(tmp_path)
    assert main(["presets", "--check", "--seeds", "0,3", "--dir", str(folder)]) == 0
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert lines[0].split() == ["preset", "seed", "0", "seed", "3"]
    assert lines[1].split() == ["tiny", "ok", "ok"]
    assert "2 of 2 preset-seed pairs hold every claim" in out
    assert "checking" in err and "2/2" in err  # progress on stderr


def test_a_false_claim_exits_1_and_is_named_with_what_was_observed(tmp_path, capsys):
    folder = _folder(tmp_path, FALSE_CLAIM)
    _folder(tmp_path, name="other-tiny")
    assert main(["presets", "--check", "--seeds", "1-2", "--dir", str(folder)]) == 1
    out = capsys.readouterr().out
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines()[1:3]}
    assert rows == {"other-tiny": ["ok", "ok"], "tiny": ["1", "failed", "1", "failed"]}
    assert "0 of 2" not in out and "2 of 4 preset-seed pairs hold every claim" in out
    for seed in (1, 2):
        assert f"tiny at seed {seed}: {FALSE_CLAIM['says']} -- observed 0." in out


def test_preset_chooses_which_presets_are_checked(tmp_path, capsys):
    folder = _folder(_folder(tmp_path, FALSE_CLAIM), name="other-tiny")
    assert main(["presets", "--check", "--seeds", "0", "--dir", str(folder), "--preset", "other-tiny"]) == 0
    out = capsys.readouterr().out
    assert "other-tiny" in out and "\ntiny " not in out
    assert main(["presets", "--check", "--preset", "no-such-one", "--dir", str(folder)]) == 2
    err = capsys.readouterr().err
    assert "no-such-one" in err and "other-tiny" in err  # names the bad id and what is allowed


def test_an_empty_folder_is_named(tmp_path, capsys):
    assert main(["presets", "--check", "--dir", str(tmp_path)]) == 2
    assert "--dir" in capsys.readouterr().err


def test_a_check_at_a_seed_trains_every_run_at_that_seed(tmp_path):
    group = load_preset_file(_folder(tmp_path) / "tiny.yaml").group()
    moved = at_seed(group, 3)
    assert [run.seed for run in moved.runs] == [3, 3]
    assert moved.runs[1].lr == group.runs[1].lr and moved.labels == group.labels
    first = train(at_seed(group, 0)).scalars
    again, other = train(at_seed(group, 0)).scalars, train(moved).scalars
    assert first.equals(again)  # a seed is a seed
    assert not first["value"].equals(other["value"])  # and another seed another run


def test_a_run_may_not_pin_its_own_seed(tmp_path):
    folder = _folder(tmp_path, config={"b.seed": 4})
    with pytest.raises(ConfigError) as caught:
        load_preset_file(folder / "tiny.yaml")
    assert [p.key for p in caught.value.problems] == ["config.b.seed"]
    assert "without a prefix" in str(caught.value)
    _folder(tmp_path, config={"seed": 4})  # the shared seed is fine
    assert parse_group(load_preset_file(folder / "tiny.yaml").config).runs[1].seed == 4


# ---------------------------------------------------------------- over_seeds: a lottery, counted


def test_over_seeds_counts_the_seeds_where_the_condition_holds():
    rule = OverSeeds(count=4, at_least=2)
    assert rule.judge(5, [True, False, True, False]) == (True, "true at 2 of 4 seeds 5-8 (5, 7)")
    assert rule.judge(0, [False, False, True, False])[0] is False
    assert OverSeeds(count=3, at_most=0).judge(0, [False] * 3)[0] is True
    assert OverSeeds(count=3, at_most=0).judge(0, [False, True, False]) == (False, "true at 1 of 3 seeds 0-2 (1)")
    assert OverSeeds(count=3, at_least=1, at_most=2).judge(0, [True] * 3)[0] is False


@pytest.mark.parametrize("over_seeds", [{"count": 1, "at_least": 1}, {"count": 8}, {"count": 8, "at_least": 9},
                                        {"count": 8, "at_least": 3, "at_most": 2}, {"count": 500, "at_least": 1},
                                        {"count": 8, "at_lest": 2}])
def test_a_bad_over_seeds_is_named(tmp_path, over_seeds):
    claim = {**FALSE_CLAIM, "over_seeds": over_seeds}
    with pytest.raises(ConfigError) as caught:
        load_preset_file(_folder(tmp_path, claim) / "tiny.yaml")
    assert any(p.key.startswith("claims.1.over_seeds") for p in caught.value.problems), str(caught.value)


def test_a_lottery_claim_is_checked_over_consecutive_seeds(tmp_path):
    # Run a's validation loss at step 0 depends on the seed: a threshold between the sorted losses of seeds
    # 2-7 holds at exactly three of them.
    group = load_preset_file(_folder(tmp_path) / "tiny.yaml").group()
    losses = {s: train(at_seed(group, s)).scalars.query("run == 'a' and split == 'val' and step == 0")["value"]
              .iloc[0] for s in range(2, 8)}
    threshold = float(sum(sorted(losses.values())[2:4]) / 2)
    below = sorted(s for s, loss in losses.items() if loss < threshold)
    assert len(below) == 3, losses

    def lottery(says: str, **counts: int) -> dict:
        return {"says": says, "value": {"run": "a", "metric": "loss", "step": 0}, "below": threshold,
                "over_seeds": {"count": 6, **counts}}

    preset = load_preset_file(_folder(tmp_path, lottery("Below the middle at exactly three of six seeds.",
                                                        at_least=3, at_most=3),
                                      lottery("Below the middle at four of six seeds (false).", at_least=4))
                              / "tiny.yaml")
    assert seeds_needed(preset, [2]) == list(range(2, 8))
    assert seeds_needed(preset, [0, 1]) == list(range(7))
    trained = []
    check = check_preset(preset, [2], trained=lambda preset_id, seed: trained.append(seed))
    assert trained == list(range(2, 8))  # each seed trained once, for both claims
    assert [(f.says, f.observed) for f in check.failures[2]] == [
        ("Below the middle at four of six seeds (false).", f"true at 3 of 6 seeds 2-7 ({', '.join(map(str, below))})")]
