"""Every layer at one step, input to output: the gradient's size and the saturated and dead units per
layer (one line per run, so runs compare at a glance), and one run's distributions side by side
(the depth profile).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from app.charts.arrays import HistCube, StatSeries, as_cube, depth_order, finite, flat_runs, pick, stat_series
from app.charts.histograms import ZERO_STRIP, value_axis
from app.charts.style import (
    LEGEND,
    MARGIN,
    NO_FLAT_PART,
    NO_GRADIENT,
    STAT_NAMES,
    axis_ids,
    axis_key,
    floor_line,
    floor_note,
    floor_points,
    grid,
    line_axis,
    log_axis,
    make_figure,
    mix,
    nice_ticks,
    run_color,
    run_label,
    shade,
    stat_hover,
    waiting_figure,
)

MAX_PROFILE_LAYERS = 24  # violins in a depth profile
DEPTH_SPACING = 0.16  # between the two panels: room for the right one's tick labels and title
ZERO_GRADIENT = "exactly 0, no gradient at all"  # a gradient's exact zero, in its hover
NESTED_STEP = 1.5  # px: how much wider each run's line is than the next one's on a nested chart


def depth_profile(hists: pd.DataFrame | HistCube | None, run: str, kind: str = "act", *, step: int | None = None,
                  max_layers: int = MAX_PROFILE_LAYERS) -> go.Figure:
    """The distributions of all hidden layers at one step (the latest, or the last one at or before
    `step`), side by side from input (left) to output (right): one violin-like outline per layer,
    each scaled to its own peak, in the run's colour darkening with depth."""
    cube = as_cube(hists, run, kind)
    if cube is None:
        return waiting_figure(height=300)
    at = len(cube.steps) - 1 if step is None else int(np.searchsorted(cube.steps, step, side="right")) - 1
    at = max(at, 0)
    shown = pick(len(cube.layers), max_layers)
    color = run_color(run)
    traces = []
    names = [cube.layers[i] for i in shown]
    for position, layer in enumerate(shown):
        counts = cube.counts[at, layer]
        zeros = float(cube.zeros[at, layer]) if cube.zeros is not None else 0.0
        total = counts.sum() + zeros
        peak = max(float(counts.max(initial=0.0)), zeros, 1.0)
        half = 0.42 * counts / peak
        centres = (cube.lo[layer] + cube.hi[layer]) / 2
        xs = [position - half, [position], position + half[::-1], [position - half[0]]]
        ys = [centres, [centres[-1]], centres[::-1], [centres[0]]]
        share = counts / max(total, 1.0)
        texts = np.concatenate([share, [share[-1]], share[::-1], [share[0]]])
        if cube.zeros is not None:  # a block for exact zeros, below the value bins
            width = cube.hi[layer, 0] - cube.lo[layer, 0]
            bottom, top = cube.lo[layer, 0] - ZERO_STRIP * width, cube.lo[layer, 0] - 0.5 * width
            w = 0.42 * zeros / peak
            xs += [[np.nan], [position - w, position - w, position + w, position + w, position - w]]
            ys += [[np.nan], [bottom, top, top, bottom, bottom]]
            texts = np.concatenate([texts, [np.nan], np.full(5, zeros / max(total, 1.0))])
        tone = shade(color, position / max(1, len(shown) - 1))
        traces.append({
            "type": "scatter", "mode": "lines", "x": np.concatenate(xs), "y": np.concatenate(ys), "fill": "toself",
            "line": {"color": tone, "width": 1}, "fillcolor": mix(tone, (255, 255, 255), 0.35),
            "name": cube.layers[layer], "showlegend": False, "customdata": np.round(texts, 4),
            "hovertemplate": f"{cube.layers[layer]}: %{{y:.3g}}, %{{customdata:.1%}} of the entries<extra></extra>",
        })
    axis: dict[str, Any] = {"title": {"text": {"act": "activation", "preact": "pre-activation",
                                               "grad": "|dL/dz|"}.get(kind, kind)}}
    if cube.zeros is not None:
        axis.update(value_axis(cube, 0)[1])
    layout = {
        "height": 300,
        "xaxis": {"tickmode": "array", "tickvals": list(range(len(names))), "ticktext": names, "showgrid": False,
                  "zeroline": False, "range": [-0.6, len(names) - 0.4]},
        "yaxis": axis,
        "annotations": [{"text": f"step {int(cube.steps[at])}", "xref": "paper", "yref": "paper", "x": 1, "y": 1,
                         "xanchor": "right", "yanchor": "bottom", "showarrow": False,
                         "font": {"size": 11, "color": "#888888"}}],
        "margin": {**MARGIN, "t": 24},
    }
    return make_figure(traces, layout)


def gradient_depth_figure(layers: pd.DataFrame | None, *, step: int | None = None,
                          labels: Mapping[str, str] | None = None, runs: Sequence[str] | None = None) -> go.Figure:
    """Gradient RMS per layer at the latest step of each run (or the last one at or before `step`), layers
    in depth order on x, log y; left the back-propagated dL/dz, right dL/dW. One line per run."""
    panels = (("grad_preact_rms", "RMS dL/dz (back-propagated)"), ("weight_grad_rms", "RMS dL/dW"))
    return across_depth(layers, panels, log_y=True, step=step, labels=labels, runs=runs)


def start_depth_figure(layers: pd.DataFrame | None, *, labels: Mapping[str, str] | None = None,
                       runs: Sequence[str] | None = None) -> go.Figure:
    """Where fine-tuning starts (step 0, after any pre-training): per layer, input to output, one line per run,
    the activation spread (std of h on the probe set) and the back-propagated gradient's size, both on log
    scales. So a pre-trained net stands beside a random one before a single labelled step."""
    panels = (("act_std", "activation spread (std of h)"), ("grad_preact_rms", "RMS dL/dz (back-propagated)"))
    return across_depth(layers, panels, log_y=True, step=0, labels=labels, runs=runs)


def saturation_depth_figure(layers: pd.DataFrame | None, *, step: int | None = None,
                            labels: Mapping[str, str] | None = None, runs: Sequence[str] | None = None,
                            activations: Mapping[str, str] | None = None) -> go.Figure:
    """Stuck entries per layer at the latest step of each run, layers in depth order on x, one line per run,
    side by side: saturated_frac (flat tails: sigmoid, tanh) and inactive_frac (flat negative side: ReLU-like)
    for the runs that report them (`activations`, run id -> activation, keeps each run under its own), then
    dead_frac. So a sigmoid run and a ReLU run each have their own panel; a linear run draws only dead units."""
    flat = {stat: shown for stat, drawn in flat_runs(layers, activations).items()
            if (shown := [r for r in drawn if runs is None or r in runs])}
    stats = [*flat, "dead_frac"]
    panels = [(stat, STAT_NAMES[stat]) for stat in stats]
    figure = across_depth(layers, panels, log_y=False, step=step, labels=labels, y_range=[-0.02, 1.02],
                           runs=runs, only=[*flat.values(), runs])
    if not flat and figure.data:
        figure.add_annotation(NO_FLAT_PART)
    return figure


def across_depth(layers: pd.DataFrame | None, panels: Sequence[tuple[str, str]], *, log_y: bool | Sequence[bool],
                  step: int | None, labels: Mapping[str, str] | None, runs: Sequence[str] | None,
                  y_range: list[float] | None = None, only: Sequence[Sequence[str] | None] | None = None,
                  zero: tuple[str, str] = (NO_GRADIENT, ZERO_GRADIENT), nested: bool = False) -> go.Figure:
    """Panels side by side, one per stat: the stat per layer (depth order on x) at the latest step of each
    run (or the last one at or before `step`), one line per run in its colour. `log_y` for all panels or per
    panel. On log panels exact zeros are drawn on a marked floor below the smallest value, `zero` naming it
    (the floor's label, the hover's words: for a gradient, none at all). `only`, per panel, names the runs it
    may draw (None: `runs`). `nested`: each run's line wider than the next run's, so runs with the same values
    (two at 0) stay visible as stripes, not one line hiding the other."""
    series = [stat_series(layers, stat) for stat, _ in panels]
    if all(s is None for s in series):
        return waiting_figure(height=320)
    cols = len(panels)
    logs = [log_y] * cols if isinstance(log_y, bool) else list(log_y)
    widths = _nested_widths(series, runs) if nested else {}
    layout = grid(1, cols, horizontal_spacing=DEPTH_SPACING)
    all_layers = depth_order(name for s in series if s is not None for name in s.present_layers())
    traces, annotations = [], []
    shown_runs: set[str] = set()
    for col, (s, (stat, title), log) in enumerate(zip(series, panels, logs), start=1):
        xref, yref = axis_ids(1, col, cols)
        layout[axis_key(xref)].update(type="category", categoryorder="array", categoryarray=all_layers,
                                      range=[-0.5, len(all_layers) - 0.5], title={"text": "layer (input → output)"})
        lines = []
        allowed = only[col - 1] if only is not None and only[col - 1] is not None else runs
        for run in s.runs if s is not None else []:
            if allowed is not None and run not in allowed:
                continue
            names, values, steps = latest_values(s, run, step)
            if names:
                lines.append((run, names, values, steps))
        axis = layout[axis_key(yref)]
        floor = None
        if log:
            ys = [finite(values, positive=True) for _, _, values, _ in lines]
            every = np.concatenate(ys) if ys else np.array([])
            floor = log_axis(axis, every[np.isfinite(every)], any((v == 0).any() for _, _, v, _ in lines))
            axis.update(title={"text": title})
        else:
            line_axis(axis, title, log, y_range)
            axis.update(**nice_ticks(0, 1, 4))
        for run, names, values, steps in lines:
            label = run_label(run, labels)
            width = widths.get(run, 2.0)
            traces.append({
                "type": "scatter", "mode": "lines+markers", "x": names, "y": finite(values, positive=log),
                "xaxis": xref, "yaxis": yref, "name": label, "legendgroup": run, "showlegend": run not in shown_runs,
                "line": {"color": run_color(run), "width": width}, "marker": {"size": 6 + 2 * (width - 2)},
                "customdata": steps,
                "hovertemplate": stat_hover(stat, "%{x}", label, step="%{customdata}"),
            })
            shown_runs.add(run)
            dead = values == 0
            if floor is not None and dead.any():
                traces.append({**floor_points(np.asarray(names, dtype=object)[dead], floor, xref, yref, run_color(run),
                                              stat_hover(stat, "%{x}", label, value=zero[1], step="%{customdata}"),
                                              group=run, text=zero[0]),
                               "customdata": steps[dead]})
        if floor is not None:
            traces.append(floor_line([all_layers[0], all_layers[-1]], floor, xref, yref, show_legend=col == 1,
                                     text=zero[0]))
            annotations.append(floor_note(xref, yref, floor, text=zero[0]))
    layout.update(height=340, legend=LEGEND, margin={**MARGIN, "t": 40}, annotations=annotations)
    return make_figure(traces, layout)


def _nested_widths(series: Sequence[StatSeries | None], runs: Sequence[str] | None) -> dict[str, float]:
    """Line width per run, widest first (run a), NESTED_STEP narrower each: coinciding lines show as stripes."""
    drawn = sorted({r for s in series if s is not None for r, _, _ in s.groups() if runs is None or r in runs})
    return {run: 2.0 + NESTED_STEP * (len(drawn) - 1 - k) for k, run in enumerate(drawn)}


def latest_values(s: StatSeries, run: str, step: int | None) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Per layer of `run`, in depth order: the value at its last step (at or before `step`)."""
    names, values, steps = [], [], []
    for r, layer, rows in s.groups():
        if r != run:
            continue
        at = len(s.step[rows]) - 1 if step is None else int(np.searchsorted(s.step[rows], step, side="right")) - 1
        if at < 0:
            continue
        names.append(layer)
        values.append(s.value[rows][at])
        steps.append(int(s.step[rows][at]))
    return names, np.asarray(values, dtype=np.float64), np.asarray(steps, dtype=np.int64)
