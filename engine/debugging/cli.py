"""`python -m engine gradcheck` and `python -m engine sanity`: the Debug page's checks without a browser.

    python -m engine gradcheck [--preset ID] [--config FILE] [--set KEY=VALUE ...] [--dtype float32] [--h 1e-5]
    python -m engine sanity [--preset ID] [--config FILE] [--set KEY=VALUE ...] [--overfit 20]

gradcheck prints each run's per-tensor table (relative error on the fast and the autograd path, CS231n's band)
and exits 1 when any tensor checks wrong; sanity prints the initial loss, overfit and validation checks and
exits 1 when any of them has a finding. Bad input exits 2 with a message naming the option, the value and what
is allowed, as `run` does (engine/cli.py wires these commands in and reads the config the same way).
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable

import torch

from engine.debugging.banner import planted_lines
from engine.debugging.gradcheck import BANDS, BATCH, ENTRIES, GradCheck, H, gradient_check
from engine.debugging.sanity import OVERFIT_N, OVERFIT_STEPS, VALIDATION_STEPS, Sanity, sanity_check
from engine.vocabulary.config import ConfigError, Problem
from engine.vocabulary.group import GroupConfig

COMMANDS = ("gradcheck", "sanity")
DTYPES = {"float64": torch.float64, "float32": torch.float32}
H_RANGE = (1e-14, 1.0)


def _config_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--preset", help="start from this preset (see `python -m engine presets`)")
    parser.add_argument("--config", help="a YAML file of keys, or a preset file")
    parser.add_argument("--set", dest="settings", action="append", default=[], metavar="KEY=VALUE",
                        help="set one key, e.g. --set bug=slope --set b.activation=relu (repeatable)")
    parser.set_defaults(steps=None)


def add_parsers(commands: argparse._SubParsersAction) -> None:
    check = commands.add_parser("gradcheck", help="check the engine's backward pass by finite differences; "
                                                  "exit 1 if any tensor is wrong")
    _config_options(check)
    check.add_argument("--dtype", choices=list(DTYPES), default="float64",
                       help="precision of the check (float32 shows its false alarms at small h)")
    check.add_argument("--h", type=float, default=H, help=f"the finite difference's step (default {H:g})")
    check.add_argument("--entries", type=int, default=ENTRIES,
                       help=f"entries checked per tensor at most (default {ENTRIES})")
    check.add_argument("--batch", type=int, default=BATCH, help=f"training points in the loss (default {BATCH})")
    sanity = commands.add_parser("sanity", help="initial loss, overfit N examples and validation checks; exit 1 "
                                                "on any finding")
    _config_options(sanity)
    sanity.add_argument("--overfit", type=int, default=OVERFIT_N, help=f"examples to overfit (default {OVERFIT_N})")
    sanity.add_argument("--overfit-steps", type=int, default=OVERFIT_STEPS,
                        help=f"steps the overfit check may take at most (default {OVERFIT_STEPS})")
    sanity.add_argument("--validation-steps", type=int, default=VALIDATION_STEPS,
                        help=f"steps of the validation check at most (default {VALIDATION_STEPS})")


OPTION_RANGES = {  # option: (attribute, lowest, highest, what it is)
    "gradcheck": {"--h": ("h", *H_RANGE, "a number"), "--entries": ("entries", 1, 10_000, "a whole number"),
                  "--batch": ("batch", 1, 1024, "a whole number")},
    "sanity": {"--overfit": ("overfit", 1, 50_000, "a whole number"),
               "--overfit-steps": ("overfit_steps", 1, 200_000, "a whole number"),
               "--validation-steps": ("validation_steps", 1, 200_000, "a whole number")},
}


def _option_problems(args: argparse.Namespace) -> list[Problem]:
    problems = []
    for option, (attribute, lo, hi, what) in OPTION_RANGES[args.command].items():
        value = getattr(args, attribute)
        if not (math.isfinite(value) and lo <= value <= hi):
            problems.append(Problem(key=option, value=repr(value), message="out of range",
                                    allowed=f"{what} from {lo:g} to {hi:g}"))
    return problems


def run(args: argparse.Namespace, build_group: Callable[[argparse.Namespace], GroupConfig]) -> int:
    """The command `args.command`, on the group that --preset/--config/--set describe."""
    problems = _option_problems(args)
    try:
        group = build_group(args)
    except ConfigError as error:  # every problem in one message: the options' and the config's
        raise ConfigError(problems + error.problems) from None
    if problems:
        raise ConfigError(problems)
    print_planted(group)  # never silently: first, before any number
    if args.command == "gradcheck":
        result = gradient_check(group, dtype=DTYPES[args.dtype], h=args.h, entries=args.entries, batch=args.batch)
        print(gradcheck_report(result, group))
        return 0 if result.passed else 1
    found = False
    for run_id, config in zip(group.ids, group.runs):
        sanity = sanity_check(config, args.overfit, args.overfit_steps, args.validation_steps)
        print(sanity_report(sanity, run_id))
        found = found or bool(sanity.findings)
    return 1 if found else 0


def _error(value: float) -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.2e}"


def gradcheck_report(result: GradCheck, group: GroupConfig) -> str:
    bands = ", ".join(f"{name} above {bound:g}" if bound else f"{name} below {BANDS[-2][1]:g}"
                      for name, bound in BANDS)
    lines = [f"Gradient check in {result.dtype}, h = {result.h:g}, on {result.batch} training points; dropout, "
             f"weight decay and L1 off for the check. Relative error |a-n|/max(|a|,|n|) per tensor; {bands}."]
    table = result.table
    for run_id, label in zip(group.ids, group.labels):
        mine = table[table["run"] == run_id]
        name = run_id if label == run_id else f"{run_id} ({label})"
        lines.append(f"\nrun {name}")
        if run_id in result.missing_paths:
            lines.append(f"  (fast path not checked: {result.missing_paths[run_id]})")
        lines.append(f"  {'tensor':16} {'size':>7} {'checked':>7} {'kinks':>5}  {'fast':>9}  {'autograd':>9}  band")
        paths = {path: rows.set_index("tensor") for path, rows in mine.groupby("path", sort=False)}
        first = next(iter(paths.values()))
        for tensor, row in first.iterrows():
            errors = {path: rows.loc[tensor, "error"] for path, rows in paths.items()}
            worst = max((rows.loc[tensor, "band"] for rows in paths.values()), key=_severity)
            worst += " (gradient 0)" if all(rows.loc[tensor, "zero"] for rows in paths.values()) else ""
            lines.append(f"  {tensor:16} {row['size']:>7} {row['checked']:>7} {row['kinks']:>5}  "
                         f"{_error(errors.get('fast')):>9}  {_error(errors.get('autograd')):>9}  {worst}")
    wrong = result.wrong
    if wrong.empty:
        lines.append("\nNo tensor checks wrong.")
    else:
        names = ", ".join(f"{r.run}:{r.tensor} ({r.path})" for r in wrong.itertuples())
        lines.append(f"\n{len(wrong)} check(s) wrong: {names}")
    return "\n".join(lines)


def _severity(band: str) -> int:
    order = [name for name, _ in BANDS]
    return len(order) - order.index(band) if band in order else 0


def sanity_report(sanity: Sanity, run_id: str) -> str:
    numbers = sanity.validation
    classes = not math.isnan(numbers["chance_accuracy"])
    expected = "ln K" if classes else "the targets' variance"
    if sanity.overfit_reached is None:
        last = sanity.overfit_curve[-1]
        overfit = f"not near zero (< {sanity.near_zero:.3g}) in {last[0]} steps: loss {last[1]:.3g}"
    else:
        last = sanity.overfit_curve[-1]
        held = "still there" if sanity.overfit_held else f"but back at {last[1]:.3g}"
        overfit = f"near zero (< {sanity.near_zero:.3g}) at step {sanity.overfit_reached}, {held} at step {last[0]}"
    if classes:
        validation = (f"validation accuracy {numbers['val_accuracy']:.1%} (chance {numbers['chance_accuracy']:.1%}), "
                      f"loss {numbers['val_loss']:.3g}")
    else:
        validation = f"validation loss {numbers['val_loss']:.3g} (the targets' variance {numbers['chance_loss']:.3g})"
    lines = [f"Sanity checks of run {run_id}",
             f"  initial loss      {sanity.initial_loss:.4g} (expected about {expected} = {sanity.expected_loss:.4g})",
             f"  overfit {sanity.overfit_n:<9} {overfit}",
             f"  validation        after {sanity.validation_steps} steps: {validation}"]
    lines += [f"  - {f.check} {f.code}: {f.message}" for f in sanity.findings] or ["  No findings."]
    return "\n".join(lines)


def print_planted(group: GroupConfig) -> None:
    """The warning `python -m engine run` and these commands print first when a run has a planted bug."""
    for line in planted_lines(group):
        print(f"*** {line}", flush=True)
