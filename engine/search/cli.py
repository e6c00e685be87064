"""`python -m engine search [--preset ID] [--set KEY=VALUE ...] --space KEY=SPEC ... --method grid|random
--trials N [--backend local|ray] [--out DIR]`: a search without a browser, with a progress bar, writing
trials.csv, curves.csv, best.yaml and summary.json (engine/search/tables.py). engine/cli.py wires it in.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tqdm import tqdm

from engine.lessons.presets import load_preset
from engine.search import tables
from engine.search.backend import BACKENDS, get_backend
from engine.search.run import SearchOutcome, run_search
from engine.search.space import SPEC_SYNTAX, parse_assignments
from engine.search.spec import METHODS, SearchSpec, parse_search, split_search_mapping
from engine.vocabulary.config import RUN_IDS, ConfigError, Problem, _shown


def add_parser(commands: argparse._SubParsersAction) -> None:
    search = commands.add_parser("search", help="search hyperparameters: many trials, early stopping, the best "
                                                "by validation")
    search.add_argument("--preset", help="start from this preset (one run's keys, or a search preset's space)")
    search.add_argument("--set", dest="settings", action="append", default=[], metavar="KEY=VALUE",
                        help="fix a key that is not searched, e.g. --set dataset=digits (repeatable)")
    search.add_argument("--space", dest="space", action="append", default=[], metavar="KEY=SPEC",
                        help=f"search a key (repeatable): {SPEC_SYNTAX}")
    search.add_argument("--method", help=f"{' or '.join(METHODS)} (default random, or the preset's)")
    search.add_argument("--trials", help="the budget: random draws N trials, a grid at most N (default 16)")
    search.add_argument("--backend", help=f"where trials train: {', '.join(BACKENDS)} "
                                          "(default: LAYERSCOPE_BACKEND, else local)")
    search.add_argument("--out", help="folder for trials.csv, curves.csv, best.yaml, summary.json "
                                      "(default: runs/search-<time>)")


def build_search(args: argparse.Namespace) -> SearchSpec:
    """The search from a preset, then --set, --space, --method and --trials on top; ConfigError lists every
    problem."""
    problems: list[Problem] = []
    mapping: dict[str, Any] = {}
    if args.preset:
        try:
            mapping = dict(load_preset(args.preset.strip()).config)
        except ConfigError as error:
            problems.extend(error.problems)
    fixed, specs, options = split_search_mapping(mapping)
    compared = [key for key in fixed if key.partition(".")[0] in RUN_IDS[1:] and "." in key]
    if compared:
        problems.append(Problem(key="--preset", value=_shown(args.preset), message="compares several runs",
                                allowed="a preset of one run, or a search preset"))
        fixed = {k: v for k, v in fixed.items() if k not in compared}
    for option, items, target, other in (("--set", args.settings, fixed, specs),
                                         ("--space", args.space, specs, fixed)):
        given, malformed = parse_assignments(items, option)
        problems.extend(malformed)
        for key in given:  # the command line wins over the preset: a key it fixes is no longer searched, and so on
            other.pop(key, None)
        target.update(given)
    method = args.method or options.get("method", "random")
    trials = args.trials or options.get("trials", 16)
    try:
        spec = parse_search(fixed, specs, method, trials)
    except ConfigError as error:
        problems.extend(error.problems)
    if problems:
        raise ConfigError(problems)
    return spec


def command_search(args: argparse.Namespace, output_folder: Callable[[str | None, str], Path]) -> int:
    spec = build_search(args)
    backend = get_backend(args.backend)
    out = output_folder(args.out, "search-")  # engine/cli.py's: made and checked before any training
    total = len(spec.trial_configs())
    print(f"{spec.method} search: {total} trials over {', '.join(f'{k}={v}' for k, v in spec.space_text().items())}",
          file=sys.stderr)
    with tqdm(total=total, unit="trial", file=sys.stderr, mininterval=0.5, desc="searching") as bar:
        def progress(outcome: SearchOutcome) -> None:
            bar.update(len(outcome.finished()) - bar.n)

        outcome = run_search(spec, backend, on_update=progress)
    tables.write(outcome, out)
    _print(outcome, out)
    return 0


def _print(outcome: SearchOutcome, out: Path) -> None:
    summary = tables.summary(outcome)
    print(f"\n{summary['finished_trials']} trials in {outcome.seconds:.1f} s -> {out}/")
    top = tables.trials_table(outcome).head(5)
    print(top.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    chosen = summary["chosen"]
    if chosen is None:
        print("\nNo trial has a validation score.")
        return
    values = ", ".join(f"{k}={v}" for k, v in chosen["values"].items())
    accuracy = f", accuracy {chosen['val_accuracy']:.4g}" if chosen["val_accuracy"] is not None else ""
    print(f"\nChosen by validation: trial {chosen['trial']} ({values}): validation loss {chosen['val_loss']:.4g}"
          f"{accuracy} at step {chosen['best_step']}")
    if summary["test"] is not None:
        test = summary["test"]
        accuracy = f", accuracy {test['accuracy']:.4g}" if test["accuracy"] is not None else ""
        print(f"Test ({test['points']} held-out points, scored once, for this trial only): loss {test['loss']:.4g}"
              f"{accuracy}")
    for warning in summary["edge_warnings"]:
        print(f"Warning: {warning}")
