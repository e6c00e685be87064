"""The Word vectors vocabulary and `python -m engine words`: strict and lenient parsing, links back and forth,
the files written, bad input refused with exit 2 naming each key."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from engine.cli import main
from engine.vocabulary.config import ConfigError
from engine.words.config import WordsConfig, parse_words, parse_words_lenient, render_words


def test_parse_and_render_read_back():
    group = parse_words({"corpus": "planted", "dim": "12", "b.model": "cbow", "b.label": "CBOW"})
    assert group.ids == ("a", "b") and group.runs[1].model == "cbow" and group.runs[1].dim == 12
    assert render_words(group) == {"dim": "12", "b.model": "cbow", "b.label": "CBOW"}
    assert parse_words(render_words(group)) == group
    assert render_words(parse_words({})) == {}


def test_every_bad_key_is_named_with_what_is_allowed():
    with pytest.raises(ConfigError) as error:
        parse_words({"dim": "1", "model": "glove", "b.window": "3", "c.dim": "4", "colour": "red", "lr": "nan"})
    text = str(error.value)
    for expected in ("dim: got '1'", "from 2 to 300", "model: got 'glove'", "one of skipgram, cbow",
                     "b.window", "set window without a prefix", "c.", "colour: got 'red': unknown key", "lr"):
        assert expected in text, expected


def test_a_link_keeps_what_is_good_and_reports_the_rest():
    group, problems = parse_words_lenient({"dim": "999", "negatives": "3", "b.model": "cbow"})
    assert group.base.dim == WordsConfig().dim and group.base.negatives == 3 and group.runs[1].model == "cbow"
    assert [p.key for p in problems] == ["dim"]


def test_the_cli_writes_the_projector_files_and_the_tables(tmp_path, capsys):
    out = tmp_path / "words"
    assert main(["words", "--set", "tokens=3000", "--set", "epochs=2", "--set", "b.model=cbow",
                 "--out", str(out)]) == 0
    metadata = pd.read_csv(out / "metadata.tsv", sep="\t")
    vectors = pd.read_csv(out / "vectors.tsv", sep="\t", header=None)
    assert len(vectors) == len(metadata) and vectors.shape[1] == WordsConfig().dim
    assert (out / "vectors.b.tsv").is_file()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "done" and [r["model"] for r in summary["runs"]] == ["skipgram", "cbow"]
    analogies = pd.read_csv(out / "analogies.csv")
    assert len(analogies) == 2 * summary["questions_asked"]
    accuracy = analogies[analogies["run"] == "a"]["correct"].mean()
    assert accuracy == pytest.approx(summary["runs"][0]["final"]["analogy_accuracy"])
    neighbours = pd.read_csv(out / "neighbours.csv")
    assert set(neighbours["run"]) == {"a", "b"} and neighbours["cosine"].between(-1, 1).all()
    scalars = pd.read_csv(out / "scalars.csv")
    assert {"loss", "lr", "analogy_accuracy"} <= set(scalars["metric"])
    assert "analogies" in capsys.readouterr().out


def test_the_cli_refuses_bad_input_with_exit_2(tmp_path, capsys):
    assert main(["words", "--set", "dim=0", "--set", "b.corpus=lee", "--preset", "zeros-init",
                 "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert "dim: got '0'" in err and "b.corpus" in err and "not a Word vectors preset" in err
    assert not (tmp_path / "x").exists()


def test_a_run_at_lr_2_is_found_diverged_and_the_finding_names_its_lr():
    from engine.words.api import train_words

    result = train_words({"tokens": "3000", "epochs": "2", "lr": "2", "b.lr": "0.025"})
    diverged = [f for f in result.findings if f["code"] == "loss_diverged"]
    assert [f["run"] for f in diverged] == ["a"]
    assert "not a finite number" in diverged[0]["message"] and "lr 2" in diverged[0]["message"]
    assert result.summary["runs"][0]["final"].get("analogy_accuracy", 0) < 0.05
