"""Input files cannot exhaust the machine: bounded size, no YAML aliases, bounded reprs, and every refusal is
exit 2 with a message naming the key, fast. Each case reproduces a defect found against the old code."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from engine import cli
from engine.lessons.presets import load_preset_file
from engine.vocabulary.config import ConfigError, parse_run
from engine.vocabulary.files import MAX_DEPTH, MAX_FILE_BYTES, read_yaml_file

ALIAS_BOMB = """\
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
hidden: [*e,*e,*e,*e,*e,*e,*e,*e,*e]
"""


def _refused(path: Path, capsys: pytest.CaptureFixture, *extra: str) -> str:
    started = time.perf_counter()
    code = cli.main(["run", "--config", str(path), "--steps", "1", *extra])
    seconds = time.perf_counter() - started
    err = capsys.readouterr().err
    assert code == 2, err
    assert seconds < 5, f"refusing took {seconds:.1f} s"  # the old code took 30 s and 3.35 GB
    return err


def test_a_yaml_alias_bomb_is_refused_before_it_expands(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(ALIAS_BOMB)
    err = _refused(bomb, capsys)
    assert "--config" in err and "aliases" in err and "line 2" in err
    assert len(err) < 1000  # the old code wrote 312 MB to stderr


def test_a_huge_file_is_refused_by_its_size_before_it_is_parsed(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture) -> None:
    big = tmp_path / "big.yaml"
    big.write_text("".join(f"k{i}: {i}\n" for i in range(40_000)))
    assert big.stat().st_size > MAX_FILE_BYTES
    err = _refused(big, capsys)
    assert f"{big.stat().st_size:,} bytes" in err and "256 KB" in err


def test_deep_nesting_and_a_preset_bomb_are_refused(tmp_path: Path) -> None:
    deep = tmp_path / "deep.yaml"
    deep.write_text("hidden: " + "[" * (MAX_DEPTH + 2) + "1" + "]" * (MAX_DEPTH + 2) + "\n")
    with pytest.raises(ConfigError, match="nested more than"):
        read_yaml_file(deep, "--config", "a mapping")
    preset = tmp_path / "bomb.yaml"
    preset.write_text(ALIAS_BOMB)
    with pytest.raises(ConfigError, match="aliases") as raised:
        load_preset_file(preset)
    assert raised.value.source == str(preset)


def test_a_huge_value_is_shown_clipped_not_rendered_whole() -> None:
    with pytest.raises(ConfigError) as raised:
        parse_run({"hidden": [[list(range(1000))] * 1000] * 10, "lr": "x" * 100_000})
    for problem in raised.value.problems:
        assert len(problem.value) <= 60, problem.value


def test_inf_is_reported_as_inf_and_a_zero_layer_count_is_an_error() -> None:
    with pytest.raises(ConfigError) as raised:
        parse_run({"lr": "inf", "noise": "-Infinity"})
    shown = {p.key: p.value for p in raised.value.problems}
    assert shown == {"lr": "'inf'", "noise": "'-Infinity'"}
    for hidden in ("0x32", "32,0x64,32"):
        with pytest.raises(ConfigError, match="layer count must be at least 1"):
            parse_run({"hidden": hidden})
    assert parse_run({"hidden": "0"}).hidden == ()  # no hidden layer at all is still allowed


def test_an_unwritable_out_is_refused_before_training(tmp_path: Path, capsys: pytest.CaptureFixture,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    trained = []
    monkeypatch.setattr(cli, "train", lambda *args, **kwargs: trained.append(1))
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    code = cli.main(["run", "--steps", "1", "--out", str(blocker / "run")])
    err = capsys.readouterr().err
    assert code == 2 and "--out" in err and str(blocker) in err
    assert not trained
