"""`python -m engine run ...`: train without a browser, show progress, write the tables, print findings.
`python -m engine presets` lists the presets; `python -m engine presets --check [--seeds 0-4] [--preset ID ...]`
trains each preset at each seed and checks its claims (engine/lessons/check.py), printing a preset x seed table;
`python -m engine previews [--check]` writes (or checks) presets/previews.json, the Gallery's preview of each
preset (engine/lessons/previews.py). `python -m engine gradcheck` and `sanity` are the Debug page's checks
(engine/debugging/cli.py).

Exit codes: 0 for a finished, early-stopped or diverged run (divergence is a result) and for a check whose
claims all hold, 1 for a check with a failed claim and for an internal error, 2 for bad input (the message
names each bad key; nothing is written).
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from engine.api import train
from engine.debugging import cli as debugging_cli
from engine.lessons.presets import PRESET_DIR, all_presets, load_preset, load_preset_file, preset_ids, resolve
from engine.search import cli as search_cli
from engine.vocabulary.config import ConfigError, Problem
from engine.vocabulary.files import read_yaml_file
from engine.vocabulary.group import GroupConfig, parse_group
from engine.vocabulary.settings import read_settings
from engine.words import cli as words_cli


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m engine", description="Layerscope's engine, without a browser.")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="train a net (or a comparison group) and write its tables")
    run.add_argument("--preset", help="start from this preset (see `python -m engine presets`)")
    run.add_argument("--config", help="a YAML file of keys, or a preset file")
    run.add_argument("--set", dest="settings", action="append", default=[], metavar="KEY=VALUE",
                     help="set one key, e.g. --set hidden=8x32 --set b.activation=relu (repeatable)")
    run.add_argument("--steps", help="train for this many steps (overrides the config)")
    run.add_argument("--out", help="folder for config.yaml, the CSV files (pretrain.csv too when a run "
                                   "pre-trains), summary.json and weights.pt "
                                   "(default: runs/<time>)")
    presets = commands.add_parser("presets", help="list the presets, or check their claims (--check)")
    presets.add_argument("--check", action="store_true",
                         help="train every preset at each seed and check its claims; exit 1 if any fails")
    presets.add_argument("--seeds", help="with --check: the seeds, e.g. 3, 0-4 or 0,2,5 (default 0-4)")
    presets.add_argument("--preset", dest="preset_ids", action="append", default=[], metavar="ID",
                         help="with --check: check only this preset (repeatable)")
    presets.add_argument("--dir", default=str(PRESET_DIR), help="the folder of preset files (default: presets/)")
    previews = commands.add_parser("previews", help="train each preset's short preview run and write "
                                                    "presets/previews.json (the Gallery's charts)")
    previews.add_argument("--check", action="store_true",
                          help="write nothing; exit 1 naming each preset whose stored preview is stale")
    debugging_cli.add_parsers(commands)  # gradcheck, sanity (engine/debugging/cli.py)
    words_cli.add_parser(commands)
    search_cli.add_parser(commands)
    return parser


def _read_config_file(path: str) -> dict[str, Any]:
    data = read_yaml_file(path, "--config", "a YAML mapping of keys, at most 256 KB, without aliases") or {}
    if isinstance(data, dict) and "claims" in data and "config" in data:
        return dict(load_preset_file(path).config)
    if not isinstance(data, dict):
        raise ConfigError([Problem(key="--config", value=repr(path), message="not a mapping of keys",
                                   allowed="a YAML mapping such as `hidden: 8x32`")])
    return data


def build_group(args: argparse.Namespace) -> GroupConfig:
    mapping: dict[str, Any] = {}
    problems: list[Problem] = []
    if args.preset:
        mapping["preset"] = args.preset
    try:
        if args.config:
            mapping.update(_read_config_file(args.config))
        mapping = resolve(mapping)
    except ConfigError as error:
        problems.extend(error.problems)
    read_settings(args.settings, mapping, problems, "lr=0.1")
    if args.steps is not None:
        mapping["steps"] = args.steps
    try:
        group = parse_group(mapping)
    except ConfigError as error:
        problems.extend(error.problems)
        group = None
    if problems:
        raise ConfigError(problems)
    return group


def _print_summary(summary: dict, out: Path, seconds: float) -> None:
    print(f"\n{summary['steps']} steps in {seconds:.1f} s -> {out}/")
    for run in summary["runs"]:
        final = run["final"]
        parts = [f"{name}={final[name]:.4g}" for name in ("val_loss", "val_accuracy") if name in final]
        name = run["run"] if run["label"] == run["run"] else f"{run['run']} ({run['label']})"
        print(f"  run {name}: {run['status']} after {run['steps']} steps  " + "  ".join(parts))
        if run.get("verdict"):  # the outcome in one sentence (engine/training/verdict.py)
            print(f"    {run['verdict']}")
    findings = summary["findings"]
    print("\nFindings:" if findings else "\nFindings: none.")
    for finding in findings:
        where = f" [{finding['layer']}]" if finding["layer"] else ""
        print(f"  - run {finding['run']}{where} {finding['code']}: {finding['message']}")


def output_folder(given: str | None, prefix: str = "") -> Path:
    """The folder a command writes to: --out, or runs/PREFIX-DATE-TIME; made and checked writable before any
    training, so minutes are not lost to a typo in --out (ConfigError naming --out)."""
    out = Path(given) if given else Path("runs") / time.strftime(f"{prefix}%Y%m%d-%H%M%S")
    _check_writable(out)
    return out


def _check_writable(out: Path) -> None:
    """Make `out` (a folder) and write a file in it, or raise ConfigError naming --out."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".layerscope-write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as error:
        raise ConfigError([Problem(key="--out", value=repr(str(out))[:80],
                                   message=f"cannot write there: {error.strerror or error}",
                                   allowed="a folder this user can create and write")]) from None


def command_run(args: argparse.Namespace) -> int:
    group = build_group(args)
    out = output_folder(args.out)
    debugging_cli.print_planted(group)  # a planted bug is never on silently
    total = group.base.steps
    started = time.perf_counter()
    bars: dict[str, tqdm] = {}  # one bar per phase, made when it starts: pre-training (if any), then training

    def pretrain_progress(phase: str, done: int, updates: int) -> None:
        bar = bars.setdefault("pretrain", tqdm(total=updates, unit="update", file=sys.stderr, mininterval=0.5))
        bar.set_description(phase.split(":")[0], refresh=False)  # "pre-training h2": the layer being trained
        bar.update(done - bar.n)

    def progress(step: int, _: int) -> None:
        if "pretrain" in bars:
            bars.pop("pretrain").close()
        bar = bars.setdefault("train", tqdm(total=total, unit="step", file=sys.stderr, mininterval=0.5,
                                            desc="training"))
        bar.update(step - bar.n)

    try:
        result = train(group, progress=progress, pretrain_progress=pretrain_progress)
    finally:
        for bar in bars.values():
            bar.close()
    result.write(out)
    _print_summary(result.summary, out, time.perf_counter() - started)
    return 0


def command_presets(args: argparse.Namespace) -> int:
    directory = Path(args.dir)
    if not args.check and (args.seeds is not None or args.preset_ids):
        option = "--seeds" if args.seeds is not None else "--preset"
        raise ConfigError([Problem(key=option, value=repr(args.seeds or args.preset_ids[0])[:60],
                                   message="only means something with --check",
                                   allowed=f"python -m engine presets --check {option} ...")])
    if not args.check:
        for preset_id in preset_ids(directory):
            preset = load_preset(preset_id, directory)
            print(f"{preset.id:32} {preset.topic:15} {preset.title}")
        return 0
    from engine.lessons import check  # imported here: listing does not need it

    seeds = check.parse_seeds("0-4" if args.seeds is None else args.seeds)
    presets = [load_preset(preset_id, directory) for preset_id in args.preset_ids or preset_ids(directory)]
    if not presets:
        raise ConfigError([Problem(key="--dir", value=repr(args.dir)[:80], message="holds no preset file",
                                   allowed="a folder of preset .yaml files")])
    total = sum(len(check.seeds_needed(preset, seeds)) for preset in presets)
    started = time.perf_counter()
    with tqdm(total=total, unit="run", file=sys.stderr, desc="checking") as bar:
        def trained(preset_id: str, seed: int) -> None:
            bar.set_postfix_str(f"{preset_id} seed {seed}")
            bar.update()

        checks = [check.check_preset(preset, seeds, trained) for preset in presets]
    print(check.table(checks, seeds))
    print(f"({total} training runs in {time.perf_counter() - started:.0f} s)")
    return 0 if all(c.holds for c in checks) else 1


def command_previews(args: argparse.Namespace) -> int:
    from engine.lessons import previews  # imported here: `run` does not need it

    presets = all_presets(every_page=True)
    stored = previews.read_previews()
    started = time.perf_counter()

    def progress(preset_id: str, seconds: float) -> None:
        print(f"  {preset_id:32} {seconds:5.1f} s", file=sys.stderr)

    fresh = previews.compute_previews(presets, progress=progress)
    seconds = time.perf_counter() - started
    for preset in presets:
        if not previews.with_previews([preset]):
            print(f"  {preset.id:32} a search preset: no preview (it trains on the Search page)", file=sys.stderr)
    if args.check:
        stale = previews.stale(presets, stored, fresh)
        if stale:
            print(f"{len(stale)} stale preview(s) in {previews.PREVIEWS_FILE}:", file=sys.stderr)
            for preset_id, why in stale.items():
                print(f"  {preset_id}: {why}", file=sys.stderr)
            print("Run `python -m engine previews` to write them again.", file=sys.stderr)
            return 1
        print(f"{len(fresh)} previews are up to date ({seconds:.1f} s).")
        return 0
    previews.write_previews(fresh)
    changed = sorted(preset_id for preset_id in fresh if stored.get(preset_id) != fresh[preset_id])
    print(f"{len(fresh)} previews in {seconds:.1f} s -> {previews.PREVIEWS_FILE}"
          + (f" (changed: {', '.join(changed)})" if changed else " (none changed)"))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    torch.set_num_threads(1)  # small nets: more threads only add contention
    try:
        if args.command == "presets":
            return command_presets(args)
        if args.command == "previews":
            return command_previews(args)
        if args.command in debugging_cli.COMMANDS:
            return debugging_cli.run(args, build_group)
        if args.command == "words":
            return words_cli.command_words(args, output_folder)
        if args.command == "search":
            return search_cli.command_search(args, output_folder)
        return command_run(args)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 1
    except Exception:  # an internal error: say so, with the traceback for a bug report
        traceback.print_exc()
        print("error: internal error (the traceback above is a bug report)", file=sys.stderr)
        return 1
