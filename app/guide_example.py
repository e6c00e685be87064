"""The Guide's worked example: every chart of the app, drawn from a real run, sick next to healthy.

The runs are engine/lessons/worked_example.py's three nets (vanishing, healthy, saturated), trained once per
server (`st.cache_resource`) in this process through the engine's cached example call, the way the Gallery's
previews come from the engine: nothing here builds or trains a model. Each chart is drawn by the same builder
the Playground or the Compare page uses (app.charts), per run, with the sick run on the left and the healthy
one on the right, on the same value axis, so what looks larger is larger. Each section's anchor is the
chart's name on its page (`guide#grad_depth`), so a lesson can point to it.

Every sentence below describes the pictures at seed 0 and is checked at seeds 0, 1 and 2 on the figures'
data by tests/test_guide.py.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from app import charts, help_texts
from app.charts.style import NO_GRADIENT, log_axis
from app.layout import plot, run_heading
from app.links import link_params
from app.pages import COMPARE
from engine.lessons.worked_example import HEALTHY, SATURATED, VANISHING, WorkedExample, train_example
from engine.vocabulary.config import layer_sizes

SEED = 0


@dataclass(frozen=True)
class Section:
    name: str  # the chart's name on its page: its caption in help_texts.HOW_TO_READ and this section's anchor
    title: str
    sick: str  # the run shown as the sick version: the one whose illness this chart shows
    sick_text: str
    healthy_text: str
    together: bool = False  # a Compare chart: one figure with both runs, as that page draws it


# (example, the runs the figure draws, every run its section shows: for a scale both sides share) -> figure
Draw = Callable[[WorkedExample, tuple[str, ...], tuple[str, ...]], go.Figure]


def _labels(example: WorkedExample) -> dict[str, str]:
    return dict(zip(example.group.ids, example.group.labels))


def _activations(example: WorkedExample) -> dict[str, str]:
    """Each run's activation: the saturation charts draw each run under the stat its activation has."""
    return {run: config.activation for run, config in zip(example.group.ids, example.group.runs)}


def _sizes(example: WorkedExample, runs: tuple[str, ...]) -> dict[str, list[int]]:
    """Each run's layer widths, input first, as the net at a glance draws them."""
    return {run: layer_sizes(example.group.runs[example.group.ids.index(run)]) for run in runs}


# One builder per chart, the one its page calls; `runs` is one run, or both for a Compare chart.
DRAW: dict[str, Draw] = {
    "network": lambda ex, runs, shown: charts.network_figure(
        ex.layers, _sizes(ex, runs), color_range=charts.network_color_range(ex.layers, shown)),
    "loss": lambda ex, runs, _: charts.loss_accuracy_figure(ex.scalars, labels=_labels(ex), runs=runs),
    "boundary": lambda ex, runs, _: charts.prediction_figure(ex.prediction, runs[0], ex.points),
    "grad_depth": lambda ex, runs, _: charts.gradient_depth_figure(ex.layers, labels=_labels(ex), runs=runs),
    "grad_time": lambda ex, runs, _: charts.gradient_time_figure(ex.layers, runs[0]),
    "grad_hist": lambda ex, runs, _: charts.histogram_heatmap(ex.hists, runs[0], kind="grad"),
    "act_now": lambda ex, runs, _: charts.depth_profile(ex.hists, runs[0], kind="act"),
    "act_time": lambda ex, runs, _: charts.histogram_heatmap(ex.hists, runs[0], kind="act"),
    "saturation": lambda ex, runs, _: charts.saturation_figure(ex.layers, runs[0], activations=_activations(ex)),
    "update": lambda ex, runs, _: charts.update_ratio_figure(ex.layers, runs[0]),
    "saturation_depth": lambda ex, runs, _: charts.saturation_depth_figure(ex.layers, labels=_labels(ex), runs=runs,
                                                                            activations=_activations(ex)),
    "act_grid": lambda ex, runs, _: charts.histogram_grid(ex.hists, runs, "act", labels=_labels(ex)),
}

SECTIONS = (
    Section("network", "The net at a glance", VANISHING,
            "The vanishing net darkens toward the input, about a decade per layer: h1's gradient is six "
            "decades below h8's, a millionth of it, at the dark end of the colour scale.",
            "The healthy net's columns, the output's included, are all within one decade of each other: about "
            "one colour from h1 to the output."),
    Section("loss", "Loss and accuracy", VANISHING,
            "The vanishing net's validation loss (solid) and its smoothed training loss (dotted) stay near 0.69, "
            "the loss of guessing between two classes (ln 2), and its validation accuracy near 50%: it learns "
            "nothing.",
            "The healthy net's validation loss falls from 0.69 to below 0.01, its smoothed training loss with it, "
            "and its validation accuracy reaches 100%."),
    Section("boundary", "What the net computes", VANISHING,
            "The vanishing net gives every point of the plane the same answer, about 50%: one flat colour. It "
            "has not found the rings.",
            "The healthy net separates the two rings: sure of one class inside the boundary, of the other "
            "outside, undecided (white) only on a thin band between them."),
    Section("grad_depth", "Gradient magnitude across depth", VANISHING,
            "The vanishing net's back-propagated gradient shrinks about seven times per layer toward the input: "
            "h1 gets about a millionth of h8's, and dL/dW (right) less than a ten-thousandth.",
            "The healthy net's back-propagated gradient stays within a factor of 10 across all eight hidden "
            "layers: a nearly flat line."),
    Section("grad_time", "Gradient size over time", VANISHING,
            "The vanishing net's h1 and h8 stay about a million times apart from the first step to the last: "
            "training never closes the gap.",
            "The healthy net's hidden layers stay bundled, within a factor of 10 of each other, all the way."),
    Section("grad_hist", "Gradient histograms", VANISHING,
            "The vanishing net's panels (six of its eight layers, input at the top) slide down toward the input, "
            "about one decade per layer: h8's gradients sit around 1e-3, h1's near 1e-9, a million times lower. "
            "Yet its bottom strips, marked 0, stay empty: tiny is not zero, no gradient is exactly 0.",
            "The healthy net's panels all sit at about the same height, around 1e-4: every layer gets a "
            "gradient of about the same size."),
    Section("act_now", "Activations across depth", SATURATED,
            "From h2 on, the saturated net's tanh outputs pile up at -1 and +1: most units sit on the flat "
            "tails, where almost no gradient passes.",
            "The healthy net's outputs spread over the middle of (-1, 1) in every layer, few near the ends."),
    Section("act_time", "Activations over time", SATURATED,
            "The saturated net's mass sits in bands at -1 and +1 from the first step to the last.",
            "The healthy net's activations stay spread around 0, and spread wider as it learns."),
    Section("saturation", "Saturation and dead units over time", SATURATED,
            "Top: from h2 on, most of the saturated net's entries (two thirds or more at the end) sit on the "
            "flat tails of tanh. Bottom: a few percent dead units at most, as expected of tanh, whose slope is "
            "zero only where it rounds to zero; dead units are a relu illness (the dying-relu lesson).",
            "Hardly any entry of the healthy net is saturated (under 1%) and no unit is dead: both panels' lines "
            "stay at the bottom, near 0."),
    Section("update", "Update ratio", VANISHING,
            "The vanishing net's lower layers sit far below the dashed line, h2 near a billionth. h1 is lower "
            "still: at most steps its update is too small to change a float32 weight at all, a ratio of exactly "
            "0, and this chart, unlike the gradient charts, has no floor for zeros, so h1's line is mostly "
            "missing.",
            "The healthy net's layers stay near the dashed line: each one's typical ratio is within a factor of "
            "10 of 1e-3."),
    Section("saturation_depth", "Saturation and dead units across depth (Compare)", SATURATED,
            "On the Compare page, one line per run: the saturated net (green) is more than two thirds saturated "
            "from h2 on.",
            "The healthy net (vermillion) stays flat near 0, and neither has more than a few percent dead units.",
            together=True),
    Section("act_grid", "Activations over time, side by side (Compare)", SATURATED,
            "On the Compare page, one column per run: the saturated net's cells are bands at -1 and +1.",
            "The healthy net's cells spread around 0.",
            together=True),
)
SECTION_NAMES = tuple(section.name for section in SECTIONS)  # the anchors a lesson may link to: guide#NAME


def _y_data(figure: go.Figure) -> dict[str, tuple[list[np.ndarray], bool]]:
    """The y values of the line traces by the layout key of their value axis ('yaxis', 'yaxis2', ...), and
    whether that axis has a floor of exact zeros (no gradient at all: its points are not values and are left
    out). An axis that also holds a heatmap (a decision map, a histogram) keeps its own range and is left out."""
    found: dict[str, tuple[list[np.ndarray], bool]] = {}
    maps = set()
    for trace in figure.data:
        key = "yaxis" + (trace.yaxis or "y")[1:]
        values, floor = found.get(key, ([], False))
        if trace.type != "scatter":
            maps.add(key)
        elif trace.name == NO_GRADIENT:
            floor = True
        elif trace.y is not None:
            values.append(np.asarray(trace.y, dtype=np.float64))
        found[key] = (values, floor)
    return {key: found[key] for key in found if key not in maps}


def same_value_axes(figures: list[go.Figure]) -> None:
    """Charts drawn side by side get one value range per line axis (the union of their data), so a flat line
    and a steep one look flat and steep, and heatmaps one colour scale. A log axis is fitted again as its chart
    fits it (app.charts.style.log_axis: decade ticks, and a floor for exact zeros if either chart has one, its
    points and label moved onto the shared floor); a linear axis with a fixed range (saturation, accuracy, the
    net at a glance) keeps it."""
    data = [_y_data(figure) for figure in figures]
    for key in set(data[0]).intersection(*data[1:]):
        axes = [figure.layout[key] for figure in figures]
        log = any(axis.type == "log" for axis in axes)
        if not log and any(axis.range is not None for axis in axes):
            continue
        values = np.concatenate([v for d in data for v in d[key][0]] or [np.array([])])
        values = values[np.isfinite(values) & ((values > 0) if log else True)]
        if not len(values):
            continue
        if log:
            _same_log_axis(figures, key, values, has_zero=any(d[key][1] for d in data))
            continue
        lo, hi = values.min(), values.max()
        pad = 0.05 * (hi - lo) if hi > lo else max(abs(hi), 1.0) * 0.05
        for figure in figures:
            figure.layout[key].range = [float(lo - pad), float(hi + pad)]
    tops = [figure.layout.coloraxis.cmax for figure in figures]
    if all(top is not None for top in tops):  # heatmaps side by side: one colour for one count
        for figure in figures:
            figure.layout.coloraxis.cmax = max(tops)


def _same_log_axis(figures: list[go.Figure], key: str, values: np.ndarray, has_zero: bool) -> None:
    """One log axis `key` for every figure, fitted to `values` (positive); exact zeros on one shared floor."""
    fitted: dict = {}
    floor = log_axis(fitted, values, has_zero)
    ref = "y" + key[len("yaxis"):]
    for figure in figures:
        figure.layout[key].update(fitted)
        if floor is None:
            continue
        for trace in figure.data:
            if trace.name == NO_GRADIENT and (trace.yaxis or "y") == ref:
                trace.y = np.full(len(trace.y), floor)
        for note in figure.layout.annotations:
            if note.text == NO_GRADIENT and note.yref == ref:
                note.y = math.log10(floor)


def build_figures(example: WorkedExample) -> dict[str, list[go.Figure]]:
    """Every section's figures: [sick, healthy], or one figure with both runs for a Compare chart."""
    figures = {}
    for section in SECTIONS:
        draw = DRAW[section.name]
        shown = (section.sick, HEALTHY)
        if section.together:
            figures[section.name] = [draw(example, shown, shown)]
        else:
            pair = [draw(example, (section.sick,), shown), draw(example, (HEALTHY,), shown)]
            same_value_axes(pair)
            figures[section.name] = pair
    return figures


@st.cache_resource(show_spinner="Training the worked example: three small nets, a few seconds, once per server...")
def example_figures(seed: int = SEED) -> tuple[WorkedExample, dict[str, list[go.Figure]]]:
    """The example's runs and figures, made once per server and shared by every viewer."""
    example = train_example(seed)
    return example, build_figures(example)


def contents() -> str:
    """Links to every chart's section, for the top of the Guide."""
    return " · ".join(f"[{section.title}](#{section.name})" for section in SECTIONS)


def _chart(figure: go.Figure, key: str) -> None:
    plot(figure, f"guide-{key}")


def render() -> None:
    example, figures = example_figures()
    labels = _labels(example)
    st.markdown(
        "Three nets trained together, alike in all but activation and initialization: eight hidden layers of 32 "
        "units, the circles dataset, 500 steps of SGD at lr 0.03, on the same batches. **vanishing** is sigmoid "
        "with `standard` init; **saturated** is tanh with weights drawn from N(0, 1), far too large; **healthy** "
        "is tanh with `xavier_uniform` init, scaled to keep the signal's size through depth. Each chart below is "
        "drawn as the app draws it, the sick run on the left, the healthy one on the right, on the same scale.")
    st.page_link(COMPARE.script, label="Open these three runs on the Compare page and train them yourself",
                 icon=COMPARE.icon, query_params=link_params(example.group))
    st.markdown("Jump to a chart: " + contents())
    for section in SECTIONS:
        st.subheader(section.title, anchor=section.name)
        st.caption(help_texts.HOW_TO_READ[section.name])
        shown = figures[section.name]
        if section.together:
            st.markdown(f"{section.sick_text} {section.healthy_text}")
            _chart(shown[0], section.name)
            continue
        runs = (section.sick, HEALTHY)
        for column, run, text in zip(st.columns(2), runs, (section.sick_text, section.healthy_text)):
            with column:
                run_heading(run, f"{labels[run]}: {setup(example, run)}")
                st.markdown(text)
        for column, run, figure in zip(st.columns(2), runs, shown):  # a row of their own: the charts line up
            with column:
                _chart(figure, f"{section.name}-{run}")
    st.subheader("What the engine found", anchor="example-findings")
    st.markdown(findings_text(example) + " Each finding is defined under [Findings](#findings).")


def setup(example: WorkedExample, run: str) -> str:
    """What sets a run apart, in words: 'tanh, normal init (std 1)'."""
    config = example.group.runs[example.group.ids.index(run)]
    spread = f" (std {config.init_std:g})" if config.init == "normal" else ""
    return f"{config.activation}, {config.init} init{spread}"


def findings_text(example: WorkedExample) -> str:
    """The engine's findings for the example's runs, by run, in one line each (Markdown)."""
    lines = []
    for run, label in _labels(example).items():
        codes = [f"{help_texts.FINDING_TITLES[f['code']].lower()}" + (f" ({f['layer']})" if f["layer"] else "")
                 for f in example.findings if f["run"] == run]
        lines.append(f"- **{label}**: {', '.join(codes) if codes else 'nothing'}")
    return "\n".join(lines) + "\n\n"

