"""Weights across depth: what a weight penalty does to each layer's weights, at one probe step. Left, log scale:
each run's weight RMS per layer (`weight_rms`); right, from 0 to 1: the share of the layer's weights that are
exactly 0 (`zero_frac`), on an axis that starts a little below 0, so a run at 0% is a line above the floor, not
hidden in it. Layers run input (left) to output (right), as on every depth chart; one colour per run, several
overlay, each run's line wider than the next run's, so two runs at 0% show as two stripes.

`weight_words` says, per run, what the numbers show at the first layer (the page shows it as text above the
chart): the share of its weights at exactly 0 and, beside a run without a penalty, how large its weights are
against that run's. A run's penalty (`penalties`, run id -> (l1, weight_decay), from its config) decides the
verb: only an L1 run is said to set weights to 0, only a penalized run to shrink them, and only when the
numbers show it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import pandas as pd
import plotly.graph_objects as go

from app.charts.arrays import depth_order, stat_series
from app.charts.depth import across_depth, latest_values
from app.charts.style import MARGIN, WAITING, axis_ids, axis_key, run_name

PANELS = (("weight_rms", "weight RMS (log)"), ("zero_frac", "share of weights exactly 0"))
ZERO_RANGE = [-0.06, 1.04]  # 0% sits clearly above the panel's bottom edge
ZERO_TICKS = [0.0, 0.25, 0.5, 0.75, 1.0]
ALL_ZERO = "every weight exactly 0"  # the RMS panel's floor: a layer whose weights are all 0
HEIGHT = 340


def weights_figure(layers: pd.DataFrame | None, *, step: int | None = None, labels: Mapping[str, str] | None = None,
                   runs: Sequence[str] | None = None) -> go.Figure:
    """Each run's weight RMS (left, log y) and share of weights exactly 0 (right, 0 to 1) per layer at its latest
    probe step (or the last one at or before `step`)."""
    figure = across_depth(layers, PANELS, log_y=(True, False), step=step, labels=labels, runs=runs,
                          y_range=ZERO_RANGE, zero=(ALL_ZERO, "exactly 0: every weight of the layer"), nested=True)
    if not figure.data:
        return figure  # waiting for data, or none of `runs` there
    layout: dict = {axis_key(axis_ids(1, 2, 2)[1]): {"tickmode": "array", "tickvals": ZERO_TICKS,
                                                     "ticktext": [f"{v:.0%}" for v in ZERO_TICKS]}}
    notes = list(figure.layout.annotations)
    for col, (stat, _) in enumerate(PANELS, start=1):
        if stat_series(layers, stat) is None:  # one stat not measured (yet): its panel says so
            xref, yref = axis_ids(1, col, 2)
            notes.append({"text": WAITING, "xref": f"{xref} domain", "yref": f"{yref} domain", "x": 0.5, "y": 0.5,
                          "showarrow": False, "font": {"size": 13, "color": "#888888"}})
    layout.update(
        height=HEIGHT, annotations=notes,
        legend={"orientation": "h", "yanchor": "top", "y": -0.22, "xanchor": "left", "x": 0, "font": {"size": 11}},
        margin={**MARGIN, "b": 60},
    )
    return figure.update_layout(layout)


def weight_words(layers: pd.DataFrame | None, *, step: int | None = None, labels: Mapping[str, str] | None = None,
                 runs: Sequence[str] | None = None,
                 penalties: Mapping[str, tuple[float, float]] | None = None) -> list[str]:
    """One sentence per run about its first layer's weights, from the table at `step` (the latest by default).
    Plain text: the run's label as given, for the page to escape."""
    rms, zeros = _first_layer(layers, "weight_rms", step), _first_layer(layers, "zero_frac", step)
    shown = [run for run in sorted({*rms, *zeros}) if runs is None or run in runs]
    base = next((run for run in shown if penalties is not None and tuple(penalties.get(run, (1, 1))) == (0, 0)
                 and math.isfinite(rms.get(run, (None, math.nan))[1]) and rms[run][1] > 0), None)
    words = []
    for run in shown:
        layer = (rms.get(run) or zeros[run])[0]
        lead = f"{run_name(run, labels)} · " if len(shown) > 1 else ""
        ratio = rms[run][1] / rms[base][1] if base is not None and run != base and run in rms else None
        penalty = tuple(penalties[run]) if penalties is not None and run in penalties else None
        words.append(lead + _sentence(layer, penalty, zeros.get(run, (None, None))[1], ratio,
                                      run_name(base, labels) if base is not None else "",
                                      rms.get(run, (None, None))[1]))
    return words


def _first_layer(layers: pd.DataFrame | None, stat: str, step: int | None) -> dict[str, tuple[str, float]]:
    """run -> (its first layer in depth order, the stat's value there at `step`)."""
    series = stat_series(layers, stat)
    out = {}
    for run in series.runs if series is not None else []:
        names, values, _ = latest_values(series, run, step)
        if names:
            first = depth_order(names)[0]
            out[run] = (first, float(values[names.index(first)]))
    return out


def _sentence(layer: str, penalty: tuple[float, float] | None, zero: float | None, ratio: float | None,
              base: str, rms: float | None) -> str:
    """What one run's numbers show at `layer`: the verbs only where its penalty and the numbers back them."""
    l1, decay = penalty if penalty is not None else (0.0, 0.0)
    subject = " and ".join(name for name, on in (("L1", l1 > 0), ("weight decay", decay > 0)) if on)
    has_zero, has_ratio = zero is not None and math.isfinite(zero), ratio is not None and math.isfinite(ratio)
    if not subject or not (has_zero or has_ratio):  # no penalty (or not known): the numbers, no verb
        parts = [f"{_share(zero) if zero else 'none'} of {layer}'s weights exactly 0"] if has_zero else []
        parts += [f"RMS {rms:.2g}"] if rms is not None and math.isfinite(rms) else []
        return ", ".join(parts) or layer
    clauses = []
    order = ("zero", "ratio") if l1 > 0 else ("ratio", "zero")  # L1's point is the zeros, weight decay's the size
    for what in order:
        target = f"{layer}'s weights" if not clauses else "them"
        if what == "zero" and has_zero:
            if zero > 0:
                verb, where = ("sets", "to") if l1 > 0 else ("leaves", "at")
                clauses.append(f"{verb} {_share(zero)} of {target} {where} exactly 0")
            else:
                clauses.append(f"sets none of {target} to exactly 0" if not clauses else "zeros none")
        elif what == "ratio" and has_ratio:
            clauses.append(f"{'shrinks' if ratio < 1 else 'leaves'} {target} {'to' if ratio < 1 else 'at'} "
                           f"{ratio:.2g}× {base}'s RMS")
    return f"{subject} " + " and ".join(clauses)


def _share(value: float) -> str:
    """A share as a percentage that never rounds a nonzero share to 0% or a partial one to 100%."""
    percent = 100 * value
    if percent >= 100:
        return "all"
    if percent < 1:
        return f"{percent:.2g}%"
    shown = f"{percent:.0f}"
    return f"{math.floor(percent)}%" if shown == "100" else f"{shown}%"

