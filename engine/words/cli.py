"""`python -m engine words [--preset ID] [--set KEY=VALUE ...] [--out DIR]`: train word vectors without a
browser, with a progress bar, and write vectors.tsv and metadata.tsv (the TensorFlow Embedding Projector's
format; run b's vectors as vectors.b.tsv), neighbours.csv, analogies.csv, scalars.csv and summary.json.
Bad input exits 2 with every bad key named, like `run` (engine/cli.py prints the ConfigError).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tqdm import tqdm

from engine.lessons.presets import load_preset
from engine.vocabulary.config import ConfigError, Problem
from engine.vocabulary.settings import read_settings
from engine.words.api import train_words
from engine.words.config import WordsGroup, parse_words
from engine.words.presets import WORDS_PAGE


def add_parser(commands: argparse._SubParsersAction) -> None:
    words = commands.add_parser("words", help="train word vectors (skip-gram, CBOW) and write them")
    words.add_argument("--preset", help="start from this Word vectors preset (topic words in `presets`)")
    words.add_argument("--set", dest="settings", action="append", default=[], metavar="KEY=VALUE",
                       help="set one key, e.g. --set corpus=lee --set b.model=cbow (repeatable)")
    words.add_argument("--out", help="folder for the files (default: runs/words-<time>)")


def build_words_group(args: argparse.Namespace) -> WordsGroup:
    mapping: dict[str, Any] = {}
    problems: list[Problem] = []
    if args.preset:
        try:
            preset = load_preset(args.preset)
            if preset.page != WORDS_PAGE:
                problems.append(Problem(key="--preset", value=repr(args.preset), message="not a Word vectors preset",
                                        allowed="a preset of topic words (`python -m engine presets`)"))
            else:
                mapping.update(preset.config)
        except ConfigError as error:
            problems.extend(error.problems)
    read_settings(args.settings, mapping, problems, "model=cbow")
    try:
        group = parse_words(mapping)
    except ConfigError as error:
        problems.extend(error.problems)
    if problems:
        raise ConfigError(problems)
    return group


def command_words(args: argparse.Namespace, output_folder: Callable[[str | None, str], Path]) -> int:
    """`output_folder` is the `run` command's choice and check of --out (engine/cli.py passes it: no import
    cycle)."""
    group = build_words_group(args)
    out = output_folder(args.out, "words-")
    started = time.perf_counter()
    with tqdm(unit="step", file=sys.stderr, mininterval=0.5, desc="training") as bar:
        def progress(step: int, total: int) -> None:
            bar.total = total
            bar.update(step - bar.n)

        result = train_words(group, progress)
    result.write(out)
    summary = result.summary
    print(f"\n{summary['steps']} steps over {summary['tokens']:,} tokens of {summary['vocabulary']:,} words with a "
          f"vector, in "
          f"{time.perf_counter() - started:.1f} s -> {out}/")
    for run in summary["runs"]:
        final = run["final"]
        parts = [f"analogies {final['analogy_accuracy']:.1%} of {summary['questions_asked']:,}"
                 if "analogy_accuracy" in final else "no analogy question in the vocabulary"]
        if "wordsim_spearman" in final:
            parts.append(f"WordSim-353 Spearman {final['wordsim_spearman']:.3f}")
        print(f"  run {run['run']} ({run['model']}): loss {final.get('loss', float('nan')):.4g}, " + ", ".join(parts))
    print("\nFindings:" if summary["findings"] else "\nFindings: none.")
    for finding in summary["findings"]:
        print(f"  - run {finding['run']} {finding['code']}: {finding['message']}")
    return 0
