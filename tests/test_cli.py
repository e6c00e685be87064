"""`python -m engine run` and `presets`: exit codes, messages that name keys, files and their columns.

Everything runs in-process through `engine.cli.main` except one subprocess that proves the entry point.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch
import yaml

from engine import cli
from engine.api import train
from engine.cli import main
from engine.lessons.presets import TOPICS, load_preset, preset_ids

ROOT = Path(__file__).resolve().parent.parent
FILES = ("config.yaml", "scalars.csv", "layers.csv", "hists.csv", "summary.json", "weights.pt")
COLUMNS = {  # ARCHITECTURE.md, "Tables"
    "scalars.csv": ["run", "step", "split", "metric", "value"],
    "layers.csv": ["run", "step", "layer", "stat", "value"],
    "hists.csv": ["run", "step", "layer", "kind", "lo", "hi", "count"],
}
STATUSES = {"finished", "diverged", "early_stopped", "stopped"}


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_nothing_written(out: Path) -> None:
    assert not out.exists() or not any(out.iterdir()), f"{out} was written to"


# ---------------------------------------------------------------- bad input: exit 2, key named, nothing written


def test_impossible_hidden_exits_2(tmp_path, capsys):
    out = tmp_path / "out"
    code, _, err = run_cli(capsys, "run", "--set", "hidden=100000x100000", "--out", str(out))
    assert code == 2
    assert "hidden" in err and "100000x100000" in err
    assert_nothing_written(out)


def test_two_bad_keys_are_both_named(tmp_path, capsys):
    out = tmp_path / "out"
    code, _, err = run_cli(capsys, "run", "--set", "activation=nope", "--set", "lr=-1", "--out", str(out))
    assert code == 2
    assert "activation" in err and "'nope'" in err and "relu" in err
    assert "lr" in err and "'-1'" in err
    assert "2 invalid setting" in err
    assert_nothing_written(out)


@pytest.mark.parametrize(("argv", "named"), [
    (["--set", "lr"], "--set"),
    (["--set", "=3"], "--set"),
    (["--steps", "abc"], "steps"),
    (["--steps", "0"], "steps"),
    (["--set", "b.batch_size=64"], "b.batch_size"),
    (["--set", "e.lr=0.1"], "e.lr"),
    (["--set", "colour=blue"], "colour"),
    (["--set", "lr=nan"], "lr"),
])
def test_bad_arguments_exit_2_naming_the_key(tmp_path, capsys, argv, named):
    out = tmp_path / "out"
    code, _, err = run_cli(capsys, "run", *argv, "--out", str(out))
    assert code == 2
    assert named in err
    assert_nothing_written(out)


def test_unknown_preset_exits_2(tmp_path, capsys):
    out = tmp_path / "out"
    code, _, err = run_cli(capsys, "run", "--preset", "no-such-preset", "--out", str(out))
    assert code == 2
    assert "preset" in err and "no-such-preset" in err
    assert_nothing_written(out)


def test_missing_config_file_exits_2(tmp_path, capsys):
    out = tmp_path / "out"
    code, _, err = run_cli(capsys, "run", "--config", str(tmp_path / "missing.yaml"), "--out", str(out))
    assert code == 2
    assert "--config" in err and "missing.yaml" in err
    assert_nothing_written(out)


@pytest.mark.parametrize(("content", "named"), [
    (b"- a\n- b\n", ("--config",)),
    (b"hidden: [\n", ("--config",)),
    (b"activation: nope\nlr: -1\n", ("activation",)),
    (b"seed: " + b"9" * 5000 + b"\n", ("seed", "--config")),  # YAML's int() of 5000 digits raises ValueError
    (b"\xff\xfe\x00\x01 not text", ("--config",)),  # not UTF-8: read_text raises UnicodeDecodeError
], ids=["list", "broken-yaml", "bad-keys", "int-of-5000-digits", "not-utf8"])
def test_bad_config_file_exits_2(tmp_path, capsys, content, named):
    path = tmp_path / "bad.yaml"
    path.write_bytes(content)
    out = tmp_path / "out"
    code, _, err = run_cli(capsys, "run", "--config", str(path), "--out", str(out))
    assert code == 2, err[-500:]
    assert any(key in err for key in named)
    assert "internal error" not in err
    assert_nothing_written(out)


def test_internal_error_exits_1(tmp_path, capsys, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(cli, "train", broken)
    code, _, err = run_cli(capsys, "run", "--steps", "3", "--set", "hidden=4", "--out", str(tmp_path / "out"))
    assert code == 1
    assert "internal error" in err and "boom" in err


# ---------------------------------------------------------------- real runs


def read_outputs(out: Path) -> dict[str, object]:
    tables = {name: pd.read_csv(out / name) for name in COLUMNS}
    return {
        **tables,
        "summary": json.loads((out / "summary.json").read_text()),
        "config": yaml.safe_load((out / "config.yaml").read_text()),
    }


def test_short_run_writes_every_file_and_replays_from_its_config(tmp_path, capsys):
    first = tmp_path / "first"
    code, stdout, _ = run_cli(capsys, "run", "--steps", "30", "--set", "hidden=4", "--set", "seed=3",
                              "--set", "b.activation=relu", "--set", "b.label=relu", "--out", str(first))
    assert code == 0
    for name in FILES:
        assert (first / name).is_file(), name
    assert "Findings" in stdout and str(first) in stdout
    outputs = read_outputs(first)
    for run in outputs["summary"]["runs"]:  # each ended run's one-sentence outcome, as the pages show it
        assert run["verdict"] and f"    {run['verdict']}" in stdout
    for name, columns in COLUMNS.items():
        table = outputs[name]
        assert list(table.columns) == columns, name
        assert not table.empty, name
        assert set(table["run"]) == {"a", "b"}, name
    scalars = outputs["scalars.csv"]
    assert {"train", "val"} <= set(scalars["split"])
    assert {"loss", "accuracy"} <= set(scalars["metric"])
    assert scalars["step"].max() <= 30
    assert set(outputs["layers.csv"]["layer"]) >= {"h1", "out"}

    summary = outputs["summary"]
    assert {"status", "steps", "runs", "findings"} <= set(summary)
    assert summary["status"] == "finished" and summary["steps"] == 30
    assert [r["run"] for r in summary["runs"]] == ["a", "b"]
    assert summary["runs"][1]["label"] == "relu"
    assert isinstance(summary["findings"], list)
    for finding in summary["findings"]:
        assert set(finding) == {"run", "code", "layer", "step", "message"}

    config = outputs["config"]
    assert config["steps"] == 30 and config["seed"] == 3 and config["b.activation"] == "relu"
    weights = torch.load(first / "weights.pt")
    assert set(weights) == {"a", "b"}

    second = tmp_path / "second"
    code, _, _ = run_cli(capsys, "run", "--config", str(first / "config.yaml"), "--out", str(second))
    assert code == 0
    again = read_outputs(second)
    assert again["config"] == config
    for name in COLUMNS:
        pd.testing.assert_frame_equal(again[name], outputs[name], check_exact=True, obj=name)
    assert again["summary"] == summary
    assert (second / "config.yaml").read_text() == (first / "config.yaml").read_text()


def test_set_overrides_config_file(tmp_path, capsys):
    path = tmp_path / "keys.yaml"
    path.write_text("hidden: 4\nlr: 0.1\nactivation: relu\n")
    out = tmp_path / "out"
    code, _, _ = run_cli(capsys, "run", "--config", str(path), "--set", "lr=0.2", "--steps", "5", "--out", str(out))
    assert code == 0
    config = yaml.safe_load((out / "config.yaml").read_text())
    assert config["lr"] == 0.2 and config["activation"] == "relu" and config["steps"] == 5


def test_diverging_run_is_a_result(tmp_path, capsys):
    out = tmp_path / "out"
    code, stdout, _ = run_cli(capsys, "run", "--steps", "30", "--set", "dataset=sine", "--set", "lr=10",
                              "--set", "hidden=4", "--out", str(out))
    assert code == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "diverged"
    assert summary["runs"][0]["status"] == "diverged"
    assert any(f["code"] == "diverged" for f in summary["findings"])
    assert "diverged" in stdout
    for name in FILES:
        assert (out / name).is_file(), name


def test_preset_file_as_config(tmp_path, capsys):
    preset = {
        "id": "tiny-test",
        "title": "A tiny test preset",
        "lesson": "A preset file works as a --config file.",
        "topic": "debugging",
        "story": "A preset written by the test suite to check that --config reads preset files.",
        "config": {"hidden": "4", "activation": "relu", "b.activation": "tanh"},
        "claims": [{"says": "The validation loss is finite.", "value": {"metric": "loss"}, "below": 1e9}],
        "key_chart": "loss",
    }
    path = tmp_path / "tiny-test.yaml"
    path.write_text(yaml.safe_dump(preset))
    out = tmp_path / "out"
    code, _, err = run_cli(capsys, "run", "--config", str(path), "--steps", "5", "--out", str(out))
    assert code == 0, err[-500:]
    config = yaml.safe_load((out / "config.yaml").read_text())
    assert config["activation"] == "relu" and config["b.activation"] == "tanh"


def test_presets_subcommand_lists_loadable_presets(tmp_path, capsys):
    code, stdout, err = run_cli(capsys, "presets")
    assert code == 0, err[-500:]
    listed = []
    for line in stdout.splitlines():
        match = re.fullmatch(r"(\S+) +(\S+) +(\S.*)", line)
        assert match, line
        preset_id, topic, title = match.groups()
        assert topic in TOPICS
        preset = load_preset(preset_id)
        assert (preset.topic, preset.title) == (topic, title)
        listed.append(preset_id)
    assert set(listed) <= set(preset_ids())  # the folder may be filling up while this runs
    assert len(listed) == len(set(listed))
    if listed:  # a listed preset runs from the CLI
        out = tmp_path / "out"
        code, _, err = run_cli(capsys, "run", "--preset", listed[0], "--steps", "3", "--out", str(out))
        assert code == 0, err[-500:]
        assert (out / "summary.json").is_file()


def test_in_process_training_leaves_the_float_mode_alone():
    """Flushing denormals to zero is process-global: after a run, every float computed in the process (config
    parsing, pandas, the Streamlit server if it trains in-process) would change, and hypothesis refuses to run."""
    assert sys.float_info.min / 2 > 0  # subnormals exist before
    train({"hidden": "4", "steps": "3"})
    assert sys.float_info.min / 2 > 0, "training left the process flushing subnormal floats to zero"


def test_entry_point_subprocess(tmp_path):
    out = tmp_path / "out"
    result = subprocess.run(
        [sys.executable, "-m", "engine", "run", "--steps", "5", "--set", "hidden=4", "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Findings" in result.stdout
    for name in FILES:
        assert (out / name).is_file(), name


# ---------------------------------------------------------------- previews: write, then --check


@pytest.fixture
def two_previews(tmp_path, monkeypatch):
    """`previews` on two cheap presets, into a file of the test's own."""
    from engine.lessons import previews

    presets = [load_preset("zeros-init"), load_preset("learning-rate-range")]
    monkeypatch.setattr(cli, "all_presets", lambda **_: presets)
    monkeypatch.setattr(previews, "PREVIEWS_FILE", tmp_path / "previews.json")
    return tmp_path / "previews.json"


def test_previews_writes_the_file_and_check_passes_on_it(two_previews, capsys):
    code, stdout, err = run_cli(capsys, "previews", "--check")
    assert code == 1 and not two_previews.exists()  # --check never writes
    assert "zeros-init: no preview" in err and "learning-rate-range: no preview" in err
    code, stdout, err = run_cli(capsys, "previews")
    assert code == 0, err[-500:]
    assert "2 previews" in stdout and str(two_previews) in stdout
    assert "zeros-init" in err and "learning-rate-range" in err  # progress, one line per preset
    stored = json.loads(two_previews.read_text())["previews"]
    assert sorted(stored) == ["learning-rate-range", "zeros-init"]
    assert [run["id"] for run in stored["learning-rate-range"]["runs"]] == ["a", "b", "c"]
    assert stored["learning-rate-range"]["runs"][0]["status"] == "diverged"
    code, stdout, err = run_cli(capsys, "previews", "--check")
    assert code == 0, err[-500:]
    assert "up to date" in stdout


def test_previews_check_names_each_stale_preset_and_why(two_previews, capsys):
    assert run_cli(capsys, "previews")[0] == 0
    data = json.loads(two_previews.read_text())
    data["previews"]["zeros-init"]["runs"][1]["val_loss"][-1][1] += 0.001  # the engine trains differently
    data["previews"]["learning-rate-range"]["hash"] = "0" * 16  # the preset's config changed
    data["previews"]["no-such-preset"] = data["previews"]["zeros-init"]  # the preset was removed
    two_previews.write_text(json.dumps(data))
    before = two_previews.read_text()
    code, _, err = run_cli(capsys, "previews", "--check")
    assert code == 1
    assert "3 stale preview(s)" in err
    assert re.search(r"zeros-init: .*numbers changed", err), err
    assert re.search(r"learning-rate-range: .*config changed", err), err
    assert re.search(r"no-such-preset: .*no longer exists", err), err
    assert "python -m engine previews" in err
    assert two_previews.read_text() == before
