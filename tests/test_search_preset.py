"""Search presets (page: search): validated by the search's own vocabulary, their methods claims checked by
`python -m engine presets --check` like any other preset's."""

from __future__ import annotations

from dataclasses import replace

import pytest
import yaml

from engine.cli import main
from engine.lessons.check import check_preset
from engine.lessons.presets import PRESET_DIR, load_preset, load_preset_file
from engine.search.presets import search_of
from engine.vocabulary.config import ConfigError

TINY = {"dataset": "moons", "samples": 200, "hidden": "2x8", "steps": 60, "probe_every": 10,
        "space": {"lr": "log:1e-3:3"}, "method": "random", "trials": 3}


def _write(tmp_path, config=None, claims=None, preset_id="tiny-search"):
    data = yaml.safe_load((PRESET_DIR / "random-vs-grid.yaml").read_text())
    data.update(id=preset_id, config=config or TINY)
    if claims is not None:
        data["claims"] = claims
    path = tmp_path / f"{preset_id}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_the_lesson_is_a_random_and_a_grid_search_at_equal_budget_on_digits():
    preset = load_preset("random-vs-grid")
    spec = search_of(preset)
    assert preset.page == "search" and preset.topic == "hyperparameters"
    assert spec.base.dataset == "digits" and set(spec.space) == {"lr", "weight_decay"}
    assert all(dim.kind == "log" for dim in spec.space.values())
    (claim,) = preset.claims
    assert (claim.methods.better, claim.methods.than) == ("random", "grid")
    assert (claim.over_seeds.count, claim.over_seeds.at_least) == (10, 8)
    drawn = spec.trial_values()
    assert len(drawn) == 9 and len({t["lr"] for t in drawn}) == 9  # random: nine learning rates
    grid = replace(spec, method="grid").trial_values()
    assert len(grid) == 9 and sorted({t["lr"] for t in grid}) == [1e-4, 0.03162, 10.0]  # the grid: three


def test_a_bad_search_preset_names_the_file_and_each_key(tmp_path):
    path = _write(tmp_path, config={**TINY, "space": {"lr": "log:0:1", "colour": "red"}, "trials": 0},
                  claims=[{"says": "A claim that is not about searches at all.",
                           "finding": {"run": "a", "code": "overfitting"}},
                          {"says": "Random beats a method that does not exist.",
                           "methods": {"better": "random", "than": "bayes"}}])
    with pytest.raises(ConfigError) as caught:
        load_preset_file(path)
    keys = {p.key for p in caught.value.problems}
    assert {"config.lr", "config.colour", "config.trials", "claims.0", "claims.1.methods.than"} <= keys
    assert caught.value.source == str(path)


def test_a_methods_claim_is_checked_at_each_seed_and_over_seeds(tmp_path):
    path = _write(tmp_path, claims=[
        {"says": "Random search's best is at least the grid's here.", "methods": {"better": "random", "than": "grid"}},
        {"says": "A search is never better than itself by more than nothing.",
         "methods": {"better": "grid", "than": "grid"}, "over_seeds": {"count": 2, "at_least": 2}},
    ])
    preset = load_preset_file(path)
    check = check_preset(preset, [0, 1])
    assert set(check.failures) == {0, 1}
    # a search equals itself at every seed: the second claim holds, whatever the first does
    assert not any("itself" in f.says for failures in check.failures.values() for f in failures)
    reversed_claim = _write(tmp_path, claims=[{"says": "Grid and random swap places here, and back.",
                                               "methods": {"better": "grid", "than": "random"}}], preset_id="swapped")
    swapped = check_preset(load_preset_file(reversed_claim), [0, 1])
    for seed in (0, 1):  # exactly one direction fails unless the two tie
        first = bool(check.failures[seed])
        second = bool(swapped.failures[seed])
        assert not (first and second), seed
        observed = (check.failures[seed] or swapped.failures[seed] or [None])[0]
        if observed is not None:
            assert "validation accuracy of the chosen trial" in observed.observed


def test_presets_check_runs_a_search_preset_from_the_command_line(tmp_path, capsys):
    _write(tmp_path, claims=[{"says": "A search is as good as itself, at the same seed.",
                              "methods": {"better": "random", "than": "random"}}])
    code = main(["presets", "--check", "--dir", str(tmp_path), "--preset", "tiny-search", "--seeds", "0"])
    out = capsys.readouterr().out
    assert code == 0 and "tiny-search" in out and "1 of 1 preset-seed pairs hold every claim" in out


def test_a_search_preset_opens_the_search_from_the_command_line(tmp_path, monkeypatch):
    import engine.lessons.presets as presets_module

    _write(tmp_path)
    original = presets_module.load_preset
    monkeypatch.setattr("engine.search.cli.load_preset", lambda preset_id: original(preset_id, tmp_path))
    out = tmp_path / "out"
    assert main(["search", "--preset", "tiny-search", "--method", "grid", "--out", str(out)]) == 0
    assert len((out / "trials.csv").read_text().strip().splitlines()) == 1 + 3
