"""What the net computes, with the data it learns from: the decision boundary over the input plane
(2-D classification), the predicted curve (regression), or the confusion matrix (digits).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import plotly.colors as pc_colors
import plotly.graph_objects as go

from app.charts.arrays import finite, thin
from app.charts.style import COUNT_SCALE, LEGEND, MARGIN, make_figure, run_color, run_label, waiting_figure

if TYPE_CHECKING:
    from engine.training.predictions import Prediction

CLASS_COLORS = ("#B2182B", "#2166AC")  # class 0 / class 1: the two ends of the boundary's colour scale
CLASS_PALETTE = ("#B2182B", "#2166AC", "#1B7837", "#762A83", "#E08214", "#35978F", "#8C510A", "#C51B7D",
                 "#4D4D4D", "#BF812D")
# An explicit colour list: plotly.js's own "RdBu" runs the other way and has a grey middle.
BOUNDARY_SCALE = [[i / (len(pc_colors.diverging.RdBu) - 1), c]  # red = class 0, white = 0.5, blue = class 1
                  for i, c in enumerate(pc_colors.diverging.RdBu)]
MAX_TRAIN_POINTS = 600  # dataset points drawn over a prediction
MAX_VAL_POINTS = 300


def prediction_figure(prediction: Prediction | None, run: str | None = None, points: Any = None, *,
                      raw_train: Any = None, y_train: Any = None, raw_val: Any = None, y_val: Any = None,
                      labels: Mapping[str, str] | None = None, colorbar: bool = True) -> go.Figure:
    """What the net computes, by `prediction.kind`: 'boundary' (P(class 1) over the input plane with the
    data on top), 'curve' (sine: the data and the predicted curve; `run=None` draws every run), or
    'confusion' (digits: true vs predicted on the validation split).

    The data comes as `points`: a tuple (raw_train, y_train, raw_val, y_val), a mapping with those keys,
    or an object with those attributes (an engine Dataset); or as the keyword arguments. Arrays may be
    numpy arrays or CPU tensors. `colorbar=False` leaves out the boundary's colour bar (maps side by side
    share one: the scale is P(class 1) from 0 to 1 in every one)."""
    if prediction is None or not len(prediction.runs):
        return waiting_figure(height=420)
    data = _points(points, raw_train, y_train, raw_val, y_val)
    if prediction.kind == "curve":
        return _curve_figure(prediction, run, data, labels)
    k = prediction.runs.index(run) if run in prediction.runs else 0
    if prediction.kind == "boundary":
        return _boundary_figure(prediction, k, data, colorbar)
    if prediction.kind == "confusion":
        return _confusion_figure(prediction, k)
    return waiting_figure(f"No chart for predictions of kind {prediction.kind!r}", height=420)


def _points(points: Any, raw_train: Any, y_train: Any, raw_val: Any, y_val: Any) -> list[np.ndarray | None]:
    names = ("raw_train", "y_train", "raw_val", "y_val")
    given = [raw_train, y_train, raw_val, y_val]
    if points is not None:
        if isinstance(points, Mapping):
            found = [points.get(n) for n in names]
        elif isinstance(points, Sequence):
            found = [*points, None, None, None, None][:4]
        else:
            found = [getattr(points, n, None) for n in names]
        given = [g if g is not None else f for g, f in zip(given, found)]
    out = []
    for array in given:
        if array is None:
            out.append(None)
            continue
        if hasattr(array, "detach"):
            array = array.detach().cpu().numpy()
        out.append(np.asarray(array))
    return out


def _subsample(x: np.ndarray | None, y: np.ndarray | None, cap: int) -> tuple[np.ndarray, np.ndarray] | None:
    if x is None or y is None or not len(x) or len(x) != len(y):
        return None
    index = thin(len(x), cap)
    return x[index], y[index]


def _boundary_figure(prediction: Prediction, k: int, data: list, colorbar: bool) -> go.Figure:
    xs, ys = prediction.axes
    z = np.clip(finite(prediction.values[k]), 0.0, 1.0)  # NaN (diverged) stays a gap
    traces = [{
        "type": "heatmap", "x": xs, "y": ys, "z": np.round(z, 3), "zmin": 0.0, "zmax": 1.0, "zmid": 0.5,
        "colorscale": BOUNDARY_SCALE, "opacity": 0.85, "showscale": colorbar,
        "colorbar": {"title": {"text": "P(class 1)", "side": "right"}, "thickness": 12, "len": 0.9},
        "hovertemplate": "x %{x:.2f}, y %{y:.2f}<br>P(class 1) %{z:.2f}<extra></extra>",
    }]
    for split, (raw, y), cap, symbol in (("train", data[:2], MAX_TRAIN_POINTS, "circle"),
                                         ("val", data[2:], MAX_VAL_POINTS, "x")):
        picked = _subsample(raw, y, cap)
        if picked is None or raw.ndim != 2 or raw.shape[1] < 2:
            continue
        raw_s, y_s = picked
        classes = y_s.astype(np.int64)
        palette = CLASS_COLORS if classes.max(initial=0) <= 1 else CLASS_PALETTE
        colors = np.asarray(palette, dtype=object)[classes % len(palette)]
        marker: dict[str, Any] = {"color": colors.tolist(), "symbol": symbol, "size": 6 if split == "train" else 7}
        marker["line"] = {"color": "white", "width": 0.8} if split == "train" else {"width": 0}
        traces.append({
            "type": "scatter", "mode": "markers", "x": raw_s[:, 0], "y": raw_s[:, 1], "name": split,
            "marker": marker, "customdata": classes,
            "hovertemplate": f"{split}: class %{{customdata}}<br>(%{{x:.2f}}, %{{y:.2f}})<extra></extra>",
        })
    layout = {
        "height": 420,
        # Both axes keep the data's range and give up width or height instead ("domain"): a narrow column
        # must not stretch the other axis far past the data.
        "xaxis": {"range": [float(xs[0]), float(xs[-1])], "showgrid": False, "zeroline": False, "constrain": "domain"},
        "yaxis": {"range": [float(ys[0]), float(ys[-1])], "showgrid": False, "zeroline": False, "constrain": "domain",
                  "scaleanchor": "x", "scaleratio": 1},
        "legend": LEGEND, "margin": {**MARGIN, "t": 40},
    }
    return make_figure(traces, layout)


def _curve_figure(prediction: Prediction, run: str | None, data: list, labels: Mapping[str, str] | None) -> go.Figure:
    (x_curve,) = prediction.axes
    traces = []
    targets = []
    for split, (raw, y), cap, marker in (
        ("train", data[:2], MAX_TRAIN_POINTS, {"color": "#9aa5b1", "size": 4}),
        ("val", data[2:], MAX_VAL_POINTS, {"color": "#3d4852", "size": 6, "symbol": "circle-open"}),
    ):
        picked = _subsample(raw, y, cap)
        if picked is None:
            continue
        raw_s, y_s = picked
        y_s = finite(y_s)
        targets.append(y_s)
        traces.append({"type": "scatter", "mode": "markers", "x": raw_s.reshape(len(raw_s), -1)[:, 0], "y": y_s,
                       "name": split, "marker": marker,
                       "hovertemplate": f"{split}: x %{{x:.2f}}, y %{{y:.3f}}<extra></extra>"})
    runs = [run] if run in prediction.runs else list(prediction.runs)
    for name in runs:
        k = prediction.runs.index(name)
        traces.append({
            "type": "scatter", "mode": "lines", "x": x_curve, "y": finite(prediction.values[k]),
            "name": f"{run_label(name, labels)} prediction", "line": {"color": run_color(name), "width": 3},
            "hovertemplate": f"{run_label(name, labels)}: x %{{x:.2f}} -> %{{y:.3f}}<extra></extra>",
        })
    layout: dict[str, Any] = {"height": 420, "xaxis": {"title": {"text": "x"}}, "yaxis": {"title": {"text": "y"}},
                              "legend": LEGEND, "margin": {**MARGIN, "t": 40}}
    known = np.concatenate(targets) if targets else np.array([])
    known = known[np.isfinite(known)]
    if len(known):  # a fixed range from the data: a diverging prediction must not squash the view
        lo, hi = float(known.min()), float(known.max())
        pad = 0.25 * (hi - lo) + 1e-6
        layout["yaxis"]["range"] = [lo - pad, hi + pad]
    return make_figure(traces, layout)


def _confusion_figure(prediction: Prediction, k: int) -> go.Figure:
    matrix = np.asarray(prediction.values[k], dtype=np.int64)
    n = matrix.shape[0]
    names = [str(i) for i in range(n)]
    totals = matrix.sum(axis=1, keepdims=True)
    share = np.where(totals > 0, matrix / np.maximum(totals, 1), 0.0)
    correct = int(np.trace(matrix))
    total = int(matrix.sum())
    traces = [{
        "type": "heatmap", "x": names, "y": names, "z": np.round(share, 3), "zmin": 0.0, "zmax": 1.0,
        "colorscale": COUNT_SCALE, "customdata": matrix, "text": np.where(matrix > 0, matrix, "").tolist(),
        "texttemplate": "%{text}",
        "textfont": {"size": 11}, "colorbar": {"title": {"text": "share of row", "side": "right"}, "thickness": 12},
        "hovertemplate": "true %{y}, predicted %{x}: %{customdata} (%{z:.0%} of the true %{y}s)<extra></extra>",
    }]
    accuracy = f"{correct / total:.1%} right ({correct} of {total})" if total else ""
    layout = {
        "height": 420,
        "xaxis": {"title": {"text": "predicted"}, "side": "top", "showgrid": False, "type": "category",
                  "constrain": "domain"},
        "yaxis": {"title": {"text": "true"}, "autorange": "reversed", "showgrid": False, "type": "category",
                  "scaleanchor": "x", "scaleratio": 1},
        "annotations": [{"text": accuracy, "xref": "paper", "yref": "paper", "x": 0, "y": -0.02, "xanchor": "left",
                         "yanchor": "top", "showarrow": False, "font": {"size": 12}}],
        "margin": {**MARGIN, "t": 50, "b": 30},
    }
    return make_figure(traces, layout)
