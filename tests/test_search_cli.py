"""`python -m engine search`: the four files, their contents, and exit 2 for bad input naming the key."""

from __future__ import annotations

import json

import pandas as pd
import yaml

from engine.cli import main
from engine.search.spec import parse_search, search_mapping, split_search_mapping

FIXED = ["--set", "dataset=moons", "--set", "samples=300", "--set", "hidden=2x12", "--set", "steps=120",
         "--set", "probe_every=10", "--set", "early_stopping=2"]


def test_a_search_writes_trials_curves_best_and_summary(tmp_path, capsys):
    out = tmp_path / "s"
    code = main(["search", *FIXED, "--set", "test_fraction=0.2", "--space", "lr=log:1e-3:3",
                 "--space", "activation=tanh|relu", "--method", "grid", "--trials", "6", "--out", str(out)])
    assert code == 0
    trials = pd.read_csv(out / "trials.csv")
    assert list(trials.columns) == ["trial", "lr", "activation", "status", "steps", "best_step", "val_loss",
                                    "val_accuracy", "rank"]
    assert len(trials) == 6 and sorted(trials["trial"]) == list(range(6)) and list(trials["rank"]) == list(range(1, 7))
    assert set(trials["lr"]) == {0.001, 0.05477, 3.0} and set(trials["activation"]) == {"tanh", "relu"}
    curves = pd.read_csv(out / "curves.csv")
    assert set(curves["trial"]) == set(range(6)) and list(curves.columns) == ["trial", "step", "train_loss",
                                                                              "val_loss", "val_accuracy"]
    summary = json.loads((out / "summary.json").read_text())
    best = trials.iloc[0]
    assert summary["chosen"]["trial"] == best["trial"] and summary["chosen"]["val_accuracy"] == best["val_accuracy"]
    assert summary["test"]["points"] == 42 and 0 <= summary["test"]["accuracy"] <= 1  # 0.2 of the 210 outside val
    config = yaml.safe_load((out / "best.yaml").read_text())
    assert config["lr"] == best["lr"] and config.get("activation", "tanh") == best["activation"]
    assert "Chosen by validation" in capsys.readouterr().out


def test_without_a_test_split_the_summary_has_no_test_score(tmp_path):
    out = tmp_path / "s"
    assert main(["search", *FIXED, "--space", "lr=log:1e-2:1", "--trials", "2", "--out", str(out)]) == 0
    assert json.loads((out / "summary.json").read_text())["test"] is None


def test_bad_input_exits_2_naming_each_key_and_writes_nothing(tmp_path, capsys):
    out = tmp_path / "s"
    code = main(["search", "--set", "lr=fast", "--space", "dropout=0:2", "--space", "momentum", "--method", "bayes",
                 "--trials", "0", "--backend", "spark", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and not out.exists()
    for says in ("lr: got 'fast'", "dropout: got '0:2'", "--space: got 'momentum'", "method: got 'bayes'",
                 "trials: got '0'"):
        assert says in err, says
    code = main(["search", "--space", "lr=log:1e-2:1", "--backend", "spark", "--out", str(out)])
    assert code == 2 and "backend: got spark" in capsys.readouterr().err


def test_an_unknown_or_comparison_preset_is_refused(capsys):
    assert main(["search", "--preset", "no-such-preset", "--space", "lr=log:1e-2:1"]) == 2
    assert "preset: got 'no-such-preset': no such preset" in capsys.readouterr().err
    assert main(["search", "--preset", "adaptive-optimizers", "--space", "lr=log:1e-2:1"]) == 2
    assert "--preset: got 'adaptive-optimizers': compares several runs" in capsys.readouterr().err


def test_a_search_reads_back_from_its_link_mapping():
    spec = parse_search({"dataset": "moons", "early_stopping": "0"}, {"lr": "log:1e-3:1", "norm": "none|layer"},
                        "grid", 8)
    fixed, specs, options = split_search_mapping(search_mapping(spec))
    assert parse_search(fixed, specs, options["method"], options["trials"]) == spec
