"""Lines over training steps: loss and accuracy of every run, and per-layer statistics over time (the
gradient's size, saturated and dead units, the update ratio), one line per (run, layer) in the run's
colour shaded by depth.

Lines stay cheap to draw and send: at most MAX_TRACE_POINTS points per line and LINE_POINT_BUDGET per
figure, and at most MAX_LINES lines per panel (evenly picked layers, first and last always kept).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from app.charts.arrays import (
    StatSeries,
    codes_at,
    eq,
    finite,
    flat_runs,
    is_empty,
    pick,
    ranked,
    stat_series,
    thin,
)
from app.charts.style import (
    LEGEND,
    MARGIN,
    NO_FLAT_PART,
    STAT_NAMES,
    axis_ids,
    axis_key,
    decade,
    floor_line,
    floor_note,
    floor_points,
    grid,
    line_axis,
    log_axis,
    make_figure,
    nice_ticks,
    run_color,
    run_label,
    shade,
    stack,
    stat_hover,
    waiting_figure,
)

REFERENCE_UPDATE_RATIO = 1e-3  # the update ratio's rule of thumb, a dashed line
MAX_LINES = 24  # lines per panel of a per-layer time chart (all runs together)
LINE_POINT_BUDGET = 4000  # points of all lines of one figure together ...
MAX_TRACE_POINTS = 300  # ... and of one line
MIN_TRACE_POINTS = 40
SIDE_BY_SIDE_SPACING = 0.04  # between panels on one shared value axis: room for the step labels
SMOOTHING_SHARE = 0.05  # the training loss's moving average spans this share of its points


def loss_accuracy_figure(scalars: pd.DataFrame | None, *, log_y: bool = False, labels: Mapping[str, str] | None = None,
                         runs: Sequence[str] | None = None) -> go.Figure:
    """Loss (left) and accuracy (right, classification only) over steps, one colour per run: validation
    solid and wide, training smoothed (an exponential moving average) and dotted, its raw minibatch
    values faint behind it when one run is shown (several runs' raw noise would bury the lines).
    `log_y` puts the loss on a log axis."""
    if is_empty(scalars):
        return waiting_figure(height=320)
    rows = np.flatnonzero(eq(scalars, "metric", "loss") | eq(scalars, "metric", "accuracy"))
    run_code, run_names = ranked(*codes_at(scalars, "run", rows))
    if runs is not None:
        keep = np.isin(run_code, [i for i, r in enumerate(run_names) if r in set(runs)])
        rows, run_code = rows[keep], run_code[keep]
    if not len(rows):
        return waiting_figure(height=320)
    metric_code, metric_names = codes_at(scalars, "metric", rows)
    split_code, split_names = ranked(*codes_at(scalars, "split", rows))
    step = scalars["step"].to_numpy()[rows]
    value = scalars["value"].to_numpy(dtype=np.float64)[rows]
    order = np.lexsort((step, split_code, metric_code, run_code))
    key = (run_code * len(metric_names) + metric_code) * len(split_names) + split_code
    key, step, value = key[order], step[order], value[order]
    cuts = np.flatnonzero(np.diff(key)) + 1
    starts, ends = np.concatenate([[0], cuts]), np.concatenate([cuts, [len(key)]])
    has_accuracy = "accuracy" in metric_names
    cols = 2 if has_accuracy else 1
    layout = grid(1, cols, horizontal_spacing=0.14 if has_accuracy else None)
    one_run = len(np.unique(run_code)) == 1
    cap = _trace_cap(len(starts) * (2 if one_run else 1))
    traces = []
    for start, end in zip(starts, ends):
        first = order[start]
        run, metric = run_names[run_code[first]], metric_names[metric_code[first]]
        train = split_names[split_code[first]] == "train"
        index = start + thin(end - start, cap)
        xref, yref = axis_ids(1, 1 if metric == "loss" else 2, cols)
        label = run_label(run, labels)
        positive = log_y and metric == "loss"
        common = {"type": "scatter", "mode": "lines", "x": step[index], "xaxis": xref, "yaxis": yref,
                  "legendgroup": run}
        what = "training" if train else "validation"
        name = f"{what} (smoothed)" if train else what
        if one_run and train:  # the raw minibatch values, faint: the noise the smoothed line averages
            traces.append({**common, "y": finite(value[index], positive=positive), "name": "training minibatch",
                           "showlegend": metric == "loss", "line": {"color": run_color(run), "width": 0.8},
                           "opacity": 0.25, "hoverinfo": "skip"})
        y = smoothed(value[start:end])[index - start] if train else value[index]
        lead = "" if one_run else f"{label} · "
        traces.append({
            **common, "y": finite(y, positive=positive), "name": name if one_run else label,
            "showlegend": metric == "loss" and (one_run or not train),
            "line": {"color": run_color(run), "width": 1.6 if train else 3.0, "dash": "dot" if train else "solid"},
            "hovertemplate": f"{lead}{name} {metric}: %{{y:.4g}} (step %{{x}})<extra></extra>",
        })
    if not one_run:  # a key to the two line styles, in grey, beside one legend entry per run
        for name, style in (("validation", {"width": 3.0}), ("training (smoothed)", {"width": 1.6, "dash": "dot"})):
            traces.append({"type": "scatter", "mode": "lines", "x": [None], "y": [None], "name": name,
                           "legendgroup": f"key-{name}", "line": {"color": "#555555", **style}, "hoverinfo": "skip"})
    x_hi = float(step.max()) if len(step) else 1.0
    for col in range(1, cols + 1):
        layout[axis_key(axis_ids(1, col, cols)[0])].update(title={"text": "step"}, range=[0, max(x_hi, 1.0)],
                                                           **nice_ticks(0, x_hi, 4))
    layout["yaxis"].update(title={"text": "loss"}, type="log" if log_y else "linear")
    if has_accuracy:
        layout["yaxis2"].update(title={"text": "accuracy"}, range=[0, 1.02], **nice_ticks(0, 1, 4))
    layout.update(height=340, legend=LEGEND, margin={**MARGIN, "t": 40})
    return make_figure(traces, layout)


def smoothed(values: np.ndarray, share: float = SMOOTHING_SHARE) -> np.ndarray:
    """An exponential moving average over about `share` of the points (debiased, so the first points are
    not pulled toward zero); NaN and inf stay gaps and do not enter the average."""
    values = np.asarray(values, dtype=np.float64)
    window = max(1.0, share * len(values))
    keep = 1.0 - 2.0 / (window + 1.0)
    out = np.full(len(values), np.nan)
    total = weight = 0.0
    for i, v in enumerate(values.tolist()):
        if math.isfinite(v):
            total = keep * total + (1.0 - keep) * v
            weight = keep * weight + (1.0 - keep)
            out[i] = total / weight
    return out


def _trace_cap(n_traces: int) -> int:
    return int(min(MAX_TRACE_POINTS, max(MIN_TRACE_POINTS, LINE_POINT_BUDGET // max(1, n_traces))))


def _layer_lines(layers: pd.DataFrame | None, panels: Sequence[tuple[str, str, str | None]],
                 labels: Mapping[str, str] | None, log_y: bool, height: int, *, side_by_side: bool = False,
                 y_range: list[float] | None = None, reference: float | None = None,
                 zero_floor: bool = False, only: Sequence[Sequence[str] | None] | None = None) -> go.Figure:
    """Panels of lines over steps, one per (stat, title, run or None for all runs): stacked on one shared
    x, or side by side on one shared x and one shared y (`side_by_side`, one run each, its label on top).
    One line per (run, layer) in the run's colour shaded by depth. One run: a legend entry per layer;
    several: one per run. With `zero_floor` (log panels of a gradient), exact zeros, no gradient at all,
    are drawn on a marked floor below the smallest value instead of vanishing from the log axis. `only`, per
    panel, names the runs it may draw (None: every run)."""
    series = [stat_series(layers, stat, run) for stat, _, run in panels]
    if all(s is None for s in series):
        return waiting_figure(height=height)
    n = len(panels)
    picked = [_picked_groups(s) for s in series]
    if only is not None:
        picked = [[g for g in p if allowed is None or g[0] in allowed] for p, allowed in zip(picked, only)]
    cap = _trace_cap(sum(len(p) for p in picked))
    if side_by_side:
        layout = grid(1, n, horizontal_spacing=SIDE_BY_SIDE_SPACING)
        refs = [axis_ids(1, col, n) for col in range(1, n + 1)]
    else:
        layout = stack(n, vertical_spacing=0.08)
        refs = [("x", axis_ids(row, 1, 1)[1]) for row in range(1, n + 1)]
    runs_drawn = {g[0] for p in picked for g in p}
    per_layer_legend = len(runs_drawn) == 1 and not side_by_side
    traces, annotations = [], []
    legend_seen: set[str] = set()
    x_lo, x_hi = math.inf, -math.inf
    zeros: list[tuple[int, np.ndarray, str, str]] = []  # (panel, steps, colour, hover) of exact zeros
    positives: list[list[np.ndarray]] = [[] for _ in panels]
    for k, (s, p, (stat, _, _), (xref, yref)) in enumerate(zip(series, picked, panels, refs)):
        for run_id, layer, rows, depth in p:
            index = thin(rows.stop - rows.start, cap)
            x = s.step[rows][index]
            y = finite(s.value[rows][index], positive=log_y)
            x_lo, x_hi = min(x_lo, float(x[0])), max(x_hi, float(x[-1]))
            label = run_label(run_id, labels)
            color = shade(run_color(run_id), depth)
            group = layer if per_layer_legend else run_id
            run_text = None if per_layer_legend or side_by_side else label
            traces.append({
                "type": "scatter", "mode": "lines", "x": x, "y": y, "xaxis": xref, "yaxis": yref,
                "name": layer if per_layer_legend else label, "legendgroup": group,
                "showlegend": not side_by_side and group not in legend_seen, "line": {"color": color, "width": 1.6},
                "hovertemplate": stat_hover(stat, layer, run_text),
            })
            legend_seen.add(group)
            if log_y:
                positives[k].append(y[np.isfinite(y)])
                dead = s.step[rows][s.value[rows] == 0] if zero_floor else ()  # every zero, not only thinned points
                if len(dead):
                    zeros.append((k, dead[thin(len(dead), cap)], color,
                                  stat_hover(stat, layer, run_text, value="exactly 0, no gradient at all")))
            if side_by_side and depth in (0.0, 1.0) and np.isfinite(y[-1]):  # name the first and last layer
                annotations.append({"text": layer, "xref": xref, "yref": yref, "x": float(x[-1]),
                                    "y": math.log10(y[-1]) if log_y else float(y[-1]), "xanchor": "right",
                                    "yanchor": "bottom", "showarrow": False, "font": {"size": 10, "color": color}})
    x_span = [x_lo, x_hi] if math.isfinite(x_lo) else [0, 1]
    floors = {}
    for k, (_, title, run) in enumerate(panels):
        xref, yref = refs[k]
        axis = layout[axis_key(yref)]
        if side_by_side and k:  # one value axis for every panel: only the first shows it
            axis.update(matches="y", showticklabels=False, type="log" if log_y else "linear")
        elif log_y:
            shown = [v for p in positives for v in p] if side_by_side else positives[k]
            if reference is not None:  # the rule of thumb stays in view
                shown = [*shown, np.array([reference])]
            has_zero = zero_floor and any(z[0] == k or side_by_side for z in zeros)
            every = np.concatenate(shown) if shown else np.array([])
            floors[k] = log_axis(axis, every, has_zero)
            axis.update(title={"text": title})
        else:
            line_axis(axis, title, log_y, y_range)
        if side_by_side:
            floors[k] = floors.get(0)
            layout[axis_key(xref)].update(title={"text": "step"}, range=x_span, **nice_ticks(*x_span, 4))
            if k:
                layout[axis_key(xref)].update(matches="x")
            annotations.append({"text": f"<b>{run_label(run, labels)}</b>", "xref": f"{xref} domain", "yref": "paper",
                                "x": 0.5, "y": 1, "xanchor": "center", "yanchor": "bottom", "showarrow": False,
                                "font": {"size": 13, "color": run_color(run)}})
        if floors.get(k) is not None:
            traces.append(floor_line(x_span, floors[k], xref, yref, show_legend=not side_by_side and k == 0))
            annotations.append(floor_note(xref, yref, floors[k]))
        if reference is not None and math.isfinite(x_lo):
            traces.append({
                "type": "scatter", "mode": "lines", "x": np.array(x_span), "y": np.array([reference] * 2),
                "xaxis": xref, "yaxis": yref, "name": f"{decade(math.log10(reference))} (rule of thumb)",
                "legendgroup": "reference",
                "showlegend": k == 0, "line": {"color": "#555555", "width": 1.5, "dash": "dash"},
                "hoverinfo": "skip",
            })
    for k, x, color, hover in zeros:
        xref, yref = refs[k]
        traces.append(floor_points(x, floors[k], xref, yref, color, hover, group="floor"))
    if not side_by_side:
        layout["xaxis"].update(title={"text": "step"})
    layout.update(height=height, legend=LEGEND, margin={**MARGIN, "t": 40}, annotations=annotations)
    return make_figure(traces, layout)


def _picked_groups(s: StatSeries | None) -> list[tuple[str, str, slice, float]]:
    """(run, layer, rows, relative depth) of the lines to draw: every layer of every run, or, past
    MAX_LINES, evenly picked layers per run (first and last kept)."""
    if s is None:
        return []
    by_run: dict[str, list[tuple[str, slice]]] = {}
    for run_id, layer, rows in s.groups():
        by_run.setdefault(run_id, []).append((layer, rows))
    per_run = max(2, MAX_LINES // max(1, len(by_run)))
    out = []
    for run_id, items in by_run.items():
        for i in pick(len(items), per_run):
            layer, rows = items[i]
            out.append((run_id, layer, rows, i / max(1, len(items) - 1)))
    return out


def gradient_time_figure(layers: pd.DataFrame | None, run: str | None = None, *, stat: str = "grad_preact_rms",
                         labels: Mapping[str, str] | None = None) -> go.Figure:
    """Gradient RMS of every layer over steps (`stat` grad_preact_rms or weight_grad_rms), log y, exact
    zeros on a marked floor; one run or, with run=None, all runs."""
    title = {"grad_preact_rms": "RMS dL/dz", "weight_grad_rms": "RMS dL/dW"}.get(stat, stat)
    return _layer_lines(layers, [(stat, title, run)], labels, log_y=True, height=340, zero_floor=True)


def gradient_time_grid(layers: pd.DataFrame | None, runs: Sequence[str], *, stat: str = "grad_preact_rms",
                       labels: Mapping[str, str] | None = None) -> go.Figure:
    """Gradient RMS of every layer over steps, one panel per run side by side (its label on top, in its
    colour), on one shared log axis, so the runs' gaps between input and output layers compare at a
    glance; exact zeros on a marked floor."""
    title = {"grad_preact_rms": "RMS dL/dz", "weight_grad_rms": "RMS dL/dW"}.get(stat, stat)
    return _layer_lines(layers, [(stat, title, run) for run in runs], labels, log_y=True, height=340,
                        side_by_side=True, zero_floor=True)


def saturation_figure(layers: pd.DataFrame | None, run: str | None = None, *, labels: Mapping[str, str] | None = None,
                      activations: Mapping[str, str] | None = None) -> go.Figure:
    """Stuck entries of every hidden layer over steps, one panel per kind, all runs by default: saturated_frac
    (flat tails: sigmoid, tanh) and inactive_frac (flat negative side: ReLU-like) for the runs that report
    them (`activations`, run id -> activation, keeps each run under its own: flat_runs), then dead_frac.
    A run with neither (linear) draws only its dead units, and a note says why."""
    flat = flat_runs(layers, activations, run)
    stats = [*flat, "dead_frac"]
    figure = _layer_lines(layers, [(stat, STAT_NAMES[stat], run) for stat in stats], labels, log_y=False,
                          height=200 + 120 * len(stats), y_range=[-0.02, 1.02], only=[*flat.values(), None])
    if not flat and figure.data:
        figure.add_annotation(NO_FLAT_PART)
    return figure


def update_ratio_figure(layers: pd.DataFrame | None, run: str | None = None, *,
                        labels: Mapping[str, str] | None = None) -> go.Figure:
    """‖ΔW‖ / ‖W‖ of every layer over steps, log y, with the 1e-3 rule of thumb as a dashed line."""
    return _layer_lines(layers, [("update_ratio", "‖ΔW‖ / ‖W‖", run)], labels, log_y=True, height=340,
                        reference=REFERENCE_UPDATE_RATIO)
