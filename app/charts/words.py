"""The Word vectors page's charts: pure functions from a run's tables and arrays to figures.

- `analogy_figure`: analogy accuracy over the steps, per run (thick) and per relation (thin, dotted).
- `loss_figure`: the training loss (negative sampling, mean per example over the steps since the last probe).
- `map_figure`: the vocabulary in 2-D (engine/words/projection.py), with analogy arrows a -> b and c -> d.
- `hist_figure`: histograms over time as heatmaps: vector lengths, the logits of true pairs and of negatives.
- `example_figure`: one example's logits before and after one SGD step on it; `vector_figure` its input
  vector, entry by entry, before and after.
- `words_card_figure`: a Gallery card's tiny curve from a words preview.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from app.charts.style import make_figure, run_color, run_label, waiting_figure
from app.preview_charts import HEIGHT, _curve_traces

HIST_KINDS = {"norm": "Vector length |v|", "positive_logit": "Logit of the true pair",
              "negative_logit": "Logits of the negatives"}


def _series(scalars: pd.DataFrame, run_id: str, metric: str) -> pd.DataFrame:
    rows = scalars[(scalars["run"] == run_id) & (scalars["metric"] == metric)]
    return rows.sort_values("step")


def analogy_figure(scalars: pd.DataFrame, labels: Mapping[str, str], total_steps: int) -> go.Figure:
    if scalars.empty or not (scalars["metric"] == "analogy_accuracy").any():
        return waiting_figure("No analogy question has all four words in the vocabulary.")
    traces = []
    relations = sorted({m.split(".", 1)[1] for m in scalars["metric"].unique() if m.startswith("analogy_accuracy.")})
    for run_id in labels:
        color, name = run_color(run_id), run_label(run_id, labels)
        rows = _series(scalars, run_id, "analogy_accuracy")
        traces.append({"type": "scatter", "x": rows["step"].tolist(), "y": rows["value"].tolist(), "mode": "lines",
                       "name": f"{name}: all", "line": {"color": color, "width": 3},
                       "hovertemplate": f"{name}<br>step %{{x}}<br>%{{y:.1%}} of the questions<extra></extra>"})
        for dash, relation in zip(("dot", "dash", "dashdot", "longdash") * 8, relations[:12]):
            rows = _series(scalars, run_id, f"analogy_accuracy.{relation}")
            traces.append({"type": "scatter", "x": rows["step"].tolist(), "y": rows["value"].tolist(),
                           "mode": "lines", "name": f"{name}: {relation}", "line": {"color": color, "width": 1,
                                                                                     "dash": dash},
                           "hovertemplate": f"{name}, {relation}<br>step %{{x}}<br>%{{y:.1%}}<extra></extra>"})
    return make_figure(traces, {"height": 320, "xaxis": {"title": {"text": "step"}, "range": [0, max(total_steps, 1)]},
                                "yaxis": {"title": {"text": "share answered right"}, "range": [-0.02, 1.02],
                                          "tickformat": ".0%"},
                                "legend": {"font": {"size": 10}}})


def loss_figure(scalars: pd.DataFrame, labels: Mapping[str, str], total_steps: int) -> go.Figure:
    loss = scalars[scalars["metric"] == "loss"] if not scalars.empty else scalars
    if loss.empty:
        return waiting_figure()
    traces = []
    for run_id in labels:
        rows = _series(scalars, run_id, "loss")
        values = rows["value"].where(np.isfinite(rows["value"]))  # an overflowed loss is a gap
        traces.append({"type": "scatter", "x": rows["step"].tolist(), "y": values.tolist(), "mode": "lines",
                       "name": run_label(run_id, labels), "line": {"color": run_color(run_id), "width": 2}})
    positive = loss["value"][np.isfinite(loss["value"]) & (loss["value"] > 0)]
    log = len(positive) > 1 and positive.max() / positive.min() > 10
    return make_figure(traces, {"height": 320, "xaxis": {"title": {"text": "step"}, "range": [0, max(total_steps, 1)]},
                                "yaxis": {"title": {"text": "loss per example"}, "type": "log" if log else "linear"}})


def map_figure(coords: np.ndarray, words: Sequence[str], counts: np.ndarray, arrows: Sequence[tuple[str, str]],
               run_id: str, shown: float, labelled: int = 60) -> go.Figure:
    """`coords` [n, 2] of `words`; the `labelled` most frequent words and every arrow's words carry their name."""
    index = {w: i for i, w in enumerate(words)}
    arrow_words = {w for pair in arrows for w in pair if w in index}
    named = set(np.argsort(-counts)[:labelled].tolist()) | {index[w] for w in arrow_words}
    text = [w if i in named else "" for i, w in enumerate(words)]
    color = run_color(run_id)
    traces = [{"type": "scatter", "x": coords[:, 0].tolist(), "y": coords[:, 1].tolist(), "mode": "markers+text",
               "text": text, "textposition": "top center", "textfont": {"size": 10, "color": "#444"},
               "hovertext": list(words), "hovertemplate": "%{hovertext}<extra></extra>",
               "marker": {"size": 6, "color": color, "opacity": 0.6}, "showlegend": False}]
    annotations = [{"x": float(coords[index[b], 0]), "y": float(coords[index[b], 1]),
                    "ax": float(coords[index[a], 0]), "ay": float(coords[index[a], 1]),
                    "xref": "x", "yref": "y", "axref": "x", "ayref": "y", "text": "", "showarrow": True,
                    "arrowhead": 2, "arrowsize": 1.2, "arrowwidth": 1.5, "arrowcolor": "#222"}
                   for a, b in arrows if a in index and b in index]
    return make_figure(traces, {"height": 520, "annotations": annotations,
                                "xaxis": {"title": {"text": f"PC 1 and 2 show {shown:.0%} of the spread"},
                                          "zeroline": False},
                                "yaxis": {"zeroline": False, "scaleanchor": "x"}})


def hist_figure(hists: pd.DataFrame, labels: Mapping[str, str]) -> go.Figure:
    if hists.empty:
        return waiting_figure()
    runs = list(labels)
    traces, layout = [], {"height": 200 * len(HIST_KINDS), "annotations": []}
    for row, (kind, title) in enumerate(HIST_KINDS.items()):
        for col, run_id in enumerate(runs):
            rows = hists[(hists["run"] == run_id) & (hists["kind"] == kind)]
            n = row * len(runs) + col + 1
            axis = "" if n == 1 else str(n)
            x0, x1 = col / len(runs) + 0.04, (col + 1) / len(runs) - 0.02
            y0, y1 = 1 - (row + 1) / len(HIST_KINDS) + 0.06, 1 - row / len(HIST_KINDS) - 0.04
            layout[f"xaxis{axis}"] = {"domain": [x0, x1], "anchor": f"y{axis}",
                                      "title": {"text": "step" if row == 2 else ""}}
            layout[f"yaxis{axis}"] = {"domain": [y0, y1], "anchor": f"x{axis}",
                                      "title": {"text": title if col == 0 else ""}}
            layout["annotations"].append({"text": f"{run_label(run_id, labels)}: {title}", "showarrow": False,
                                          "xref": "paper", "yref": "paper", "x": x0, "y": y1 + 0.03,
                                          "xanchor": "left", "font": {"size": 11}})
            if rows.empty:
                continue
            table = rows.pivot_table(index="lo", columns="step", values="count", aggfunc="sum")
            total = table.sum(axis=0).replace(0, np.nan)
            traces.append({"type": "heatmap", "x": table.columns.tolist(), "y": table.index.tolist(),
                           "z": (table / total).fillna(0).to_numpy().tolist(), "colorscale": "Blues",
                           "showscale": False, "xaxis": f"x{axis}", "yaxis": f"y{axis}",
                           "hovertemplate": "step %{x}<br>from %{y:.2f}: %{z:.1%}<extra></extra>"})
    return make_figure(traces, layout)


def example_figure(rows: list[dict]) -> go.Figure:
    words = [f"{r['word']} ({r['role']})" for r in rows]
    traces = [{"type": "bar", "y": words, "x": [r["logit"] for r in rows], "orientation": "h", "name": "before",
               "marker": {"color": "#bbbbbb"}},
              {"type": "bar", "y": words, "x": [r["logit_after"] for r in rows], "orientation": "h",
               "name": "after one step on this example", "marker": {"color": run_color("a")}}]
    return make_figure(traces, {"height": 90 + 28 * len(rows), "barmode": "group",
                                "xaxis": {"title": {"text": "logit u · v"}, "zeroline": True, "zerolinecolor": "#888"},
                                "yaxis": {"autorange": "reversed"}})


def vector_figure(before: np.ndarray, after: np.ndarray, inputs: str) -> go.Figure:
    """The example's input vector entry by entry, before and after its one SGD step."""
    dims = list(range(1, len(before) + 1))
    traces = [{"type": "bar", "x": dims, "y": before.tolist(), "name": "before", "marker": {"color": "#bbbbbb"}},
              {"type": "bar", "x": dims, "y": after.tolist(), "name": "after one step on this example",
               "marker": {"color": run_color("a")}}]
    return make_figure(traces, {"height": 240, "barmode": "group",
                                "xaxis": {"title": {"text": f"entry of the input vector v ({inputs})"}},
                                "yaxis": {"title": {"text": "value"}}})


def words_card_figure(preview: Mapping[str, Any], quantity: str) -> go.Figure:
    """A card's tiny chart: `quantity` (engine/words/charts.py WORDS_CURVES) per run over the steps."""
    figure = go.Figure(data=_curve_traces(preview, quantity))
    yaxis: dict[str, Any] = {"showgrid": True, "gridcolor": "#eee", "zeroline": False}
    if quantity == "loss":
        yaxis["type"] = "log"
    else:
        yaxis.update(range=[-0.03, 1.03] if quantity == "analogy_accuracy" else [-1.03, 1.03], tickvals=[0, 0.5, 1])
    figure.update_layout(height=HEIGHT, margin={"l": 34, "r": 8, "t": 8, "b": 20}, showlegend=False,
                         meta={"quantity": quantity}, paper_bgcolor="white", plot_bgcolor="white",
                         font={"size": 9, "color": "#555"}, yaxis=yaxis,
                         xaxis={"showgrid": False, "zeroline": False, "nticks": 4, "range": [0, preview.get("steps")]})
    return figure
