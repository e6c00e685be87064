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

from app.charts.arrays import StatSeries, codes_at, eq, finite, is_empty, pick, ranked, stat_series, thin
from app.charts.style import (
    LEGEND,
    MARGIN,
    axis_ids,
    axis_key,
    decade,
    grid,
    line_axis,
    make_figure,
    run_color,
    run_label,
    shade,
    stack,
    waiting_figure,
)

REFERENCE_UPDATE_RATIO = 1e-3  # the update ratio's rule of thumb, a dashed line
MAX_LINES = 24  # lines per panel of a per-layer time chart (all runs together)
LINE_POINT_BUDGET = 4000  # points of all lines of one figure together ...
MAX_TRACE_POINTS = 300  # ... and of one line
MIN_TRACE_POINTS = 40


def loss_accuracy_figure(scalars: pd.DataFrame | None, *, log_y: bool = False, labels: Mapping[str, str] | None = None,
                         runs: Sequence[str] | None = None) -> go.Figure:
    """Loss (left) and accuracy (right, classification only) over steps; train dotted, validation solid,
    one colour per run. `log_y` puts the loss on a log axis."""
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
    layout = grid(1, cols, horizontal_spacing=0.12 if has_accuracy else None)
    cap = _trace_cap(len(starts))
    traces = []
    for start, end in zip(starts, ends):
        first = order[start]
        run, metric = run_names[run_code[first]], metric_names[metric_code[first]]
        split = split_names[split_code[first]]
        index = start + thin(end - start, cap)
        xref, yref = axis_ids(1, 1 if metric == "loss" else 2, cols)
        label = run_label(run, labels)
        train = split == "train"
        traces.append({
            "type": "scatter", "mode": "lines", "x": step[index],
            "y": finite(value[index], positive=log_y and metric == "loss"), "xaxis": xref, "yaxis": yref,
            "name": f"{label} {split}", "legendgroup": f"{run}-{split}", "showlegend": metric == "loss",
            "line": {"color": run_color(run), "width": 1.2 if train else 2.2, "dash": "dot" if train else "solid"},
            "opacity": 0.75 if train else 1.0,
            "hovertemplate": f"{label} {split} {metric}<br>step %{{x}}: %{{y:.4g}}<extra></extra>",
        })
    layout["xaxis"].update(title={"text": "step"})
    layout["yaxis"].update(title={"text": "loss"}, type="log" if log_y else "linear")
    if has_accuracy:
        layout["xaxis2"].update(title={"text": "step"})
        layout["yaxis2"].update(title={"text": "accuracy"}, range=[0, 1.02])
    layout.update(height=340, legend=LEGEND, margin={**MARGIN, "t": 40})
    return make_figure(traces, layout)


def _trace_cap(n_traces: int) -> int:
    return int(min(MAX_TRACE_POINTS, max(MIN_TRACE_POINTS, LINE_POINT_BUDGET // max(1, n_traces))))


def _layer_lines(layers: pd.DataFrame | None, stats: Sequence[tuple[str, str]], run: str | None,
                 labels: Mapping[str, str] | None, log_y: bool, height: int,
                 y_range: list[float] | None = None, reference: float | None = None) -> go.Figure:
    """Stacked panels (one per stat, shared x), one line per (run, layer) over steps, in the run's colour
    shaded by depth. One run: a legend entry per layer; several: one per run."""
    series = [stat_series(layers, stat, run) for stat, _ in stats]
    if all(s is None for s in series):
        return waiting_figure(height=height)
    n = len(stats)
    layout = stack(n, vertical_spacing=0.08)
    picked = [_picked_groups(s) for s in series]
    cap = _trace_cap(sum(len(p) for p in picked))
    runs_drawn = {g[0] for p in picked for g in p}
    per_layer_legend = len(runs_drawn) == 1
    traces = []
    legend_seen: set[str] = set()
    x_lo, x_hi = math.inf, -math.inf
    for row, (s, p, (_, title)) in enumerate(zip(series, picked, stats), start=1):
        xref, yref = "x", axis_ids(row, 1, 1)[1]
        line_axis(layout[axis_key(yref)], title, log_y, y_range)
        for run_id, layer, rows, depth in p:
            index = thin(rows.stop - rows.start, cap)
            x = s.step[rows][index]
            y = finite(s.value[rows][index], positive=log_y)
            x_lo, x_hi = min(x_lo, float(x[0])), max(x_hi, float(x[-1]))
            label = run_label(run_id, labels)
            group = layer if per_layer_legend else run_id
            traces.append({
                "type": "scatter", "mode": "lines", "x": x, "y": y, "xaxis": xref, "yaxis": yref,
                "name": layer if per_layer_legend else label, "legendgroup": group,
                "showlegend": group not in legend_seen,
                "line": {"color": shade(run_color(run_id), depth), "width": 1.6},
                "hovertemplate": f"{label} {layer}<br>step %{{x}}: %{{y:.3g}}<extra></extra>",
            })
            legend_seen.add(group)
        if reference is not None and math.isfinite(x_lo):
            traces.append({
                "type": "scatter", "mode": "lines", "x": np.array([x_lo, x_hi]), "y": np.array([reference] * 2),
                "xaxis": xref, "yaxis": yref, "name": f"{decade(math.log10(reference))} (rule of thumb)",
                "legendgroup": "reference",
                "showlegend": row == 1, "line": {"color": "#555555", "width": 1.5, "dash": "dash"},
                "hoverinfo": "skip",
            })
    layout["xaxis"].update(title={"text": "step"})
    layout.update(height=height, legend=LEGEND, margin={**MARGIN, "t": 40})
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
    """Gradient RMS of every layer over steps (`stat` grad_preact_rms or weight_grad_rms), log y; one run
    or, with run=None, all runs."""
    title = {"grad_preact_rms": "RMS dL/dz", "weight_grad_rms": "RMS dL/dW"}.get(stat, stat)
    return _layer_lines(layers, [(stat, title)], run, labels, log_y=True, height=340)


def saturation_figure(layers: pd.DataFrame | None, run: str | None = None, *,
                      labels: Mapping[str, str] | None = None) -> go.Figure:
    """saturated_frac (top) and dead_frac (bottom) of every hidden layer over steps; all runs by default."""
    return _layer_lines(layers, [("saturated_frac", "saturated"), ("dead_frac", "dead units")], run, labels,
                        log_y=False, height=440, y_range=[-0.02, 1.02])


def update_ratio_figure(layers: pd.DataFrame | None, run: str | None = None, *,
                        labels: Mapping[str, str] | None = None) -> go.Figure:
    """‖ΔW‖ / ‖W‖ of every layer over steps, log y, with the 1e-3 rule of thumb as a dashed line."""
    return _layer_lines(layers, [("update_ratio", "‖ΔW‖ / ‖W‖")], run, labels, log_y=True, height=340,
                        reference=REFERENCE_UPDATE_RATIO)
