"""The Guide: a worked example with every chart from a real run (sick next to healthy, each sentence checked on
the figures' data at seeds 0, 1 and 2), every finding defined, every choice the sidebar offers described."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from app import charts, guide, guide_example
from app.charts.style import NO_GRADIENT
from app.guide_example import DRAW, SECTIONS, build_figures
from app.help_texts import HOW_TO_READ
from app.pages import GUIDE
from engine.lessons.worked_example import HEALTHY, VANISHING, WorkedExample, train_example
from engine.training.findings import FINDING_CODES, FINDING_DEFINITIONS
from engine.training.verdict import VERDICT_DEFINITIONS
from engine.vocabulary.config import ACTIVATIONS, INITS, OPTIMIZERS, SATURATING_ACTIVATIONS

MAIN = str(Path(__file__).resolve().parent.parent / "app" / "main.py")
HIDDEN = [f"h{i}" for i in range(1, 9)]
LOG_COUNT_STEPS = 36  # app/charts/histograms.py's colour codes: log10(1 + count) * LOG_COUNT_STEPS


@pytest.fixture(scope="module")
def guide_page() -> AppTest:
    app = AppTest.from_file(MAIN, default_timeout=120).run()
    app.switch_page(GUIDE.script).run()
    assert not app.exception
    return app


@pytest.fixture(scope="module", params=[0, 1, 2])
def example(request: pytest.FixtureRequest) -> WorkedExample:
    return train_example(request.param)


@pytest.fixture(scope="module")
def figures(example: WorkedExample) -> dict:
    return build_figures(example)


def _lines(figure, axis: str = "y") -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The line traces on one value axis, by name: (x, y)."""
    return {t.name: (np.asarray(t.x), np.asarray(t.y, dtype=np.float64)) for t in figure.data
            if t.type == "scatter" and (t.yaxis or "y") == axis}


def _by_layer(figure, axis: str = "y") -> dict[str, float]:
    """A depth chart's one line on `axis` as {layer: value}."""
    (x, y), = _lines(figure, axis).values()
    return dict(zip(x, y))


def _counts(trace) -> np.ndarray:
    """A histogram heatmap's counts [bins, steps], back from its one-byte log codes."""
    return 10 ** (np.asarray(trace.z, dtype=np.float64) / LOG_COUNT_STEPS) - 1


def _centres(trace) -> np.ndarray:
    edges = np.asarray(trace.y, dtype=np.float64)
    return (edges[:-1] + edges[1:]) / 2


def _edge_share(trace) -> np.ndarray:
    """Per step, the share of an activation heatmap's count beyond ±0.9 (the flat tails of tanh)."""
    counts = _counts(trace)
    return counts[np.abs(_centres(trace)) > 0.9].sum(axis=0) / counts.sum(axis=0)


# ------------------------------------------------------------------------------------------------ the page


def test_the_guide_shows_the_worked_example_with_one_figure_per_chart_kind(guide_page: AppTest) -> None:
    expected = sum(1 if section.together else 2 for section in SECTIONS)
    assert len(guide_page.get("plotly_chart")) == expected
    anchors = {h.proto.anchor: h.value for h in guide_page.subheader}
    assert all(anchors.get(section.name) == section.title for section in SECTIONS)  # guide#grad_depth
    assert set(DRAW) == {section.name for section in SECTIONS}  # every chart kind has its section
    assert {section.name for section in SECTIONS} <= set(HOW_TO_READ) | {"boundary"}  # each with its page's caption
    contents = next(m.value for m in guide_page.markdown if m.value.startswith("Jump to a chart"))
    for section in SECTIONS:  # each chart's section has a link a lesson can point to
        assert f"(#{section.name})" in contents
    shown = "\n".join(m.value for m in guide_page.markdown)
    assert all(section.sick_text in shown and section.healthy_text in shown for section in SECTIONS)
    assert "Compare" in guide_page.get("page_link")[0].proto.label


def test_the_guide_defines_every_finding_the_engine_can_emit(guide_page: AppTest) -> None:
    assert set(FINDING_DEFINITIONS) == set(FINDING_CODES)
    table = next(t.value for t in guide_page.table if t.value.columns[0] == "finding")
    assert list(table["finding"]) == list(FINDING_CODES)
    meanings = dict(zip(table["finding"], table["what it means"]))
    for code in FINDING_CODES:
        assert meanings[code] == FINDING_DEFINITIONS[code] and meanings[code].endswith(".")
        assert len(meanings[code].split()) >= 10, f"{code}: a sentence, not a placeholder"
    assert "1%" in FINDING_DEFINITIONS["vanishing_gradients"]  # read from the threshold the rule uses


def test_the_guide_defines_every_verdict_of_an_ended_run(guide_page: AppTest) -> None:
    table = next(t.value for t in guide_page.table if t.value.columns[0] == "verdict")
    assert dict(zip(table["verdict"], table["what it means"])) == VERDICT_DEFINITIONS
    assert set(VERDICT_DEFINITIONS) == {"learned", "underfits", "overfits", "diverged"}


def test_the_guide_lists_the_findings_of_its_example(guide_page: AppTest) -> None:
    found = next(m.value for m in guide_page.markdown if m.value.startswith("- **vanishing**"))
    assert "vanishing gradients (h1)" in found and "not learning" in found
    assert "**healthy**: nothing" in found


def test_the_guide_describes_every_activation_init_and_update_rule(guide_page: AppTest) -> None:
    tables = {t.value.columns[0]: t.value for t in guide_page.table}
    assert list(tables["activation"]["activation"]) == list(ACTIVATIONS)
    assert list(tables["init"]["init"]) == list(INITS)
    assert list(tables["optimizer"]["optimizer"]) == list(OPTIMIZERS)
    for table in (tables["activation"], tables["init"], tables["optimizer"]):
        assert table["what it does"].str.len().min() > 30  # a sentence, not a placeholder
    flat = dict(zip(tables["activation"]["activation"], tables["activation"]["flat where"]))
    # the squashing ones are flat in both tails (saturated_frac), the ReLU-like ones on their negative side
    # (inactive_frac), linear nowhere: the classification of issue 12's contract
    assert {name for name, where in flat.items() if where == "both tails"} == {"sigmoid", "tanh"}
    assert {name for name, where in flat.items() if where == "negative side"} == {
        "relu", "leaky_relu", "elu", "selu", "gelu", "swish", "softplus"}
    assert {name for name, where in flat.items() if where == "none"} == {"linear"}
    assert {"sigmoid", "tanh"} <= set(SATURATING_ACTIVATIONS)


def test_the_contents_link_to_the_page_sections(guide_page: AppTest) -> None:
    assert {h.proto.anchor: h.value for h in guide_page.header} == guide.ANCHORS
    contents = next(m.value for m in guide_page.markdown if "(#worked-example)" in m.value)
    assert all(f"[{title}](#{anchor})" in contents for anchor, title in guide.ANCHORS.items())
    assert guide_example.contents().count("](#") == len(SECTIONS)


# ------------------------------------------------------------------- each sentence, on the figures' data


def _column_colours(figure) -> dict[str, float]:
    """The net at a glance's colour value per column (its x tick's name), read from the units on the colour
    scale; columns drawn in a fixed colour (the input, a zero gradient) are left out."""
    names = list(figure.layout.xaxis.ticktext)
    found: dict[str, set[float]] = {}
    for trace in figure.data:
        if trace.marker is not None and trace.marker.coloraxis == "coloraxis":
            for x, colour in zip(trace.x, trace.marker.color):
                found.setdefault(names[int(x)], set()).add(float(colour))
    assert all(len(colours) == 1 for colours in found.values())  # one colour per layer: measured per layer
    return {name: colours.pop() for name, colours in found.items()}


def test_network_the_sick_net_darkens_toward_the_input_the_healthy_one_is_one_colour(figures: dict) -> None:
    sick, healthy = figures["network"]
    assert sick.layout.coloraxis.cmin == healthy.layout.coloraxis.cmin  # one colour range for both sides
    assert sick.layout.coloraxis.cmax == healthy.layout.coloraxis.cmax
    low, high = sick.layout.coloraxis.cmin, sick.layout.coloraxis.cmax
    for figure in (sick, healthy):
        assert list(figure.layout.xaxis.ticktext) == ["input", *HIDDEN, "out"]
        assert all(low <= value <= high for value in _column_colours(figure).values())
    colour = _column_colours(sick)  # log10 of the gradient's RMS: one decade is 1
    steps = np.diff([colour[name] for name in HIDDEN])
    assert np.all((steps > 0.5) & (steps < 1.5))  # "darkens toward the input, about a decade per layer"
    assert 5.5 < colour["h8"] - colour["h1"] < 6.5  # "six decades below h8's, a millionth"
    assert (colour["h1"] - low) / (high - low) < 0.1  # "at the dark end of the colour scale"
    colour = _column_colours(healthy)
    assert set(colour) == {*HIDDEN, "out"}
    assert max(colour.values()) - min(colour.values()) < 1  # "the output's included, all within one decade"


def test_loss_the_sick_net_stays_at_chance_and_the_healthy_one_learns(figures: dict) -> None:
    sick, healthy = figures["loss"]
    assert {t.legendgroup for t in sick.data} == {VANISHING} and {t.legendgroup for t in healthy.data} == {HEALTHY}
    for name in ("validation", "training (smoothed)"):
        x, loss = _lines(sick)[name]
        assert np.all(np.abs(loss[x >= 50] - np.log(2)) < 0.04), name  # "both stay near 0.69 (ln 2)"
    x, accuracy = _lines(sick, "y2")["validation"]
    assert np.all(np.abs(accuracy[x >= 50] - 0.5) < 0.1)  # "validation accuracy near 50%"
    _, val = _lines(healthy)["validation"]
    assert abs(val[0] - np.log(2)) < 0.05 and val[-1] < 0.01  # "falls from 0.69 to below 0.01"
    assert _lines(healthy)["training (smoothed)"][1][-1] < 0.01  # "its smoothed training loss with it"
    assert _lines(healthy, "y2")["validation"][1][-1] >= 0.995  # "accuracy reaches 100%"
    assert sick.layout.yaxis.range == healthy.layout.yaxis.range  # on the same scale


def test_boundary_the_sick_net_is_one_flat_colour_the_healthy_one_separates_the_rings(figures: dict) -> None:
    sick, healthy = (np.asarray(f.data[0].z, dtype=np.float64) for f in figures["boundary"])
    assert np.ptp(sick) < 0.02 and abs(sick.mean() - 0.5) < 0.05  # "the same answer, about 50%"
    assert healthy.min() < 0.02 and healthy.max() > 0.98  # sure of each class somewhere
    assert ((healthy > 0.2) & (healthy < 0.8)).mean() < 0.1  # undecided only on a thin band


def test_grad_depth_the_sick_gradient_shrinks_sevenfold_per_layer(figures: dict) -> None:
    sick, healthy = figures["grad_depth"]
    dz = _by_layer(sick)
    ratio = dz["h1"] / dz["h8"]
    assert 1e-7 < ratio < 1e-5  # "about a millionth"
    assert 5 < ratio ** (-1 / 7) < 10  # "about seven times per layer"
    dw = _by_layer(sick, "y2")
    assert dw["h1"] / dw["h8"] < 1e-4  # "dL/dW less than a ten-thousandth"
    flat = [_by_layer(healthy)[name] for name in HIDDEN]
    assert max(flat) / min(flat) < 10  # "within a factor of 10 across all eight hidden layers"
    assert sick.layout.yaxis.range == healthy.layout.yaxis.range


def test_grad_time_the_sick_layers_stay_a_million_apart_the_healthy_ones_bundled(figures: dict) -> None:
    sick, healthy = figures["grad_time"]
    lines = _lines(sick)
    assert np.array_equal(lines["h1"][0], lines["h8"][0])  # the same steps
    apart = lines["h8"][1] / lines["h1"][1]
    assert np.all((apart >= 3e5) & (apart < 3e6))  # "about a million times apart", at every step
    lines = _lines(healthy)
    values = np.stack([lines[name][1] for name in HIDDEN])
    assert np.all(values.max(axis=0) / values.min(axis=0) < 10)  # "bundled, within a factor of 10, all the way"
    assert sick.layout.yaxis.range == healthy.layout.yaxis.range


def test_grad_hist_the_sick_panels_slide_down_toward_the_input(figures: dict) -> None:
    def medians(figure) -> dict[str, float]:
        out = {}
        for trace in figure.data:
            counts, centres = _counts(trace)[1:, -1], _centres(trace)[1:]  # the last step, the zero strip left out
            out[trace.name] = float(centres[np.searchsorted(np.cumsum(counts) / counts.sum(), 0.5)])
        return out

    for figure in figures["grad_hist"]:  # "six of its eight layers, input at the top", the zero strip at the bottom
        assert [trace.name for trace in figure.data] == ["h1", "h2", "h4", "h5", "h7", "h8"]
        assert [trace.yaxis for trace in figure.data] == ["y", "y2", "y3", "y4", "y5", "y6"]
        assert all(np.all(_counts(trace)[0] < 0.5) for trace in figure.data)  # "strips marked 0 stay empty"
        assert all(figure.layout[f"yaxis{n or ''}"].ticktext[0] == "0" for n in (0, 2, 3, 4, 5, 6))
    sick, healthy = (medians(f) for f in figures["grad_hist"])
    assert -4 < sick["h8"] < -2.5 and -10.5 < sick["h1"] < -8.5  # "around 1e-3 ... near 1e-9"
    assert 0.7 < (sick["h8"] - sick["h1"]) / 7 < 1.1  # "about one decade per layer"
    assert np.all(np.diff(list(sick.values())) >= 0)  # sliding down toward the input, panel after panel
    assert max(healthy.values()) - min(healthy.values()) <= 1  # "about the same height"
    assert all(-5 <= value <= -3.5 for value in healthy.values())  # "around 1e-4"


def test_act_now_the_saturated_net_piles_up_at_the_ends(figures: dict) -> None:
    def edge_shares(figure) -> dict[str, float]:
        found = {}
        for trace in figure.data:  # an outline: the bin centres and each bin's share come first
            centres, share = np.asarray(trace.y[:32], dtype=np.float64), np.asarray(trace.customdata[:32])
            found[trace.name] = float(share[np.abs(centres) > 0.9].sum())
        return found

    sick, healthy = (edge_shares(f) for f in figures["act_now"])
    assert all(sick[name] > 0.75 for name in HIDDEN[1:])  # "from h2 on ... most units"
    assert all(value < 0.05 for value in healthy.values())  # "few near the ends"


def test_act_time_the_saturated_bands_stay_and_the_healthy_spread_widens(figures: dict) -> None:
    sick, healthy = figures["act_time"]
    assert sick.layout.coloraxis.cmax == healthy.layout.coloraxis.cmax  # one colour for one count
    for trace in sick.data[1:]:  # h2 on
        assert np.all(_edge_share(trace) > 0.5), trace.name  # "bands at -1 and +1 from the first step to the last"
    for trace in healthy.data:
        counts, centres = _counts(trace), _centres(trace)
        spread = np.sqrt((counts * centres[:, None] ** 2).sum(axis=0) / counts.sum(axis=0))
        assert spread[-1] > spread[0], trace.name  # "spread wider as it learns"
        assert np.all(_edge_share(trace) < 0.05)


def test_saturation_most_saturated_entries_and_almost_no_dead_units(figures: dict) -> None:
    sick, healthy = figures["saturation"]
    saturated = _lines(sick)
    assert all(saturated[name][1][-1] >= 0.66 for name in HIDDEN[1:])  # "two thirds or more at the end"
    assert all(np.nanmax(y) <= 0.1 for _, y in _lines(sick, "y2").values())  # "almost no dead units"
    assert all(np.all(y < 0.01) for _, y in _lines(healthy).values())  # "hardly any entry saturated (under 1%)"
    assert all(np.all(y == 0) for _, y in _lines(healthy, "y2").values())  # "no unit is dead"


def test_update_the_sick_lower_layers_sit_far_below_the_line(example: WorkedExample, figures: dict) -> None:
    sick, healthy = figures["update"]
    lines = _lines(sick)
    x, h1 = lines["h1"]
    drawn = h1[np.isfinite(h1)]
    assert len(drawn) < 0.25 * len(h1) and np.all(drawn < 1e-9)  # "lower still ... h1's line is mostly missing"
    layers = example.layers
    rows = layers[(layers.run == VANISHING) & (layers.stat == "update_ratio") & (layers.layer == "h1")]
    ratio = dict(zip(rows.step, rows.value))
    assert all(ratio[step] == 0 for step in x[~np.isfinite(h1)])  # the missing points are exact zeros ...
    assert all(t.name != NO_GRADIENT for t in sick.data)  # ... and the chart has no floor for them
    assert 1e-10 < np.nanmedian(lines["h2"][1]) < 1e-8  # "h2 near a billionth"
    for name, (_, y) in _lines(healthy).items():
        if name in HIDDEN:
            assert 1e-4 < np.nanmedian(y) < 1e-2, name  # "within a factor of 10 of 1e-3"


def test_compare_charts_show_both_runs_as_the_text_says(figures: dict) -> None:
    (depth,) = figures["saturation_depth"]
    saturated, healthy = (_lines(depth)[label] for label in ("saturated", "healthy"))
    assert np.all(saturated[1][1:] >= 0.66) and np.all(healthy[1] < 0.01)  # "above two thirds from h2 on"; "near 0"
    assert all(np.nanmax(y) <= 0.1 for _, y in _lines(depth, "y2").values())  # "no more than a few percent dead"
    (grid,) = figures["act_grid"]
    cells = {trace.name: trace for trace in grid.data}
    for trace in grid.data:  # each cell on its own value axis: tanh's bins, -1 to 1, and no wider
        axis = grid.layout["yaxis" + trace.yaxis[1:]]
        assert (trace.y[0], trace.y[-1]) == (-1, 1) and tuple(axis.range) == (-1, 1) and axis.matches is None
    for name in HIDDEN[1:]:
        assert _edge_share(cells[f"saturated {name}"])[-1] > 0.5  # "bands at -1 and +1"
    for name in HIDDEN:
        assert _edge_share(cells[f"healthy {name}"])[-1] < 0.05  # "spread around 0"


# ------------------------------------------------------------------------------- one scale for both sides


def test_side_by_side_log_charts_share_one_axis_and_one_floor_for_exact_zeros() -> None:
    """A run with an exact-zero gradient beside one without: both get the axis fitted to both runs' values,
    and the zero (its marker, the dashed floor and its label) moves down onto that axis's floor."""
    rows = [(run, 0, layer, stat, value) for stat in ("grad_preact_rms", "weight_grad_rms")
            for run, values in (("a", (0.0, 1e-3, 1e-2)), ("b", (1e-6, 1e-5, 1e-4)))
            for layer, value in zip(("h1", "h2", "h3"), values)]
    layers = pd.DataFrame(rows, columns=["run", "step", "layer", "stat", "value"])
    pair = [charts.gradient_depth_figure(layers, runs=(run,)) for run in ("a", "b")]
    assert pair[0].layout.yaxis.range != pair[1].layout.yaxis.range  # each fitted to its own run, as drawn alone
    guide_example.same_value_axes(pair)
    for key in ("yaxis", "yaxis2"):
        assert pair[0].layout[key].range == pair[1].layout[key].range
        assert pair[0].layout[key].tickvals == pair[1].layout[key].tickvals
    assert pair[0].layout.yaxis.ticktext[0] == "0" and pair[0].layout.yaxis.tickvals[0] == 1e-7  # below 1e-6
    floor = [t for t in pair[0].data if t.name == NO_GRADIENT and (t.yaxis or "y") == "y"]
    assert {t.mode for t in floor} == {"lines", "markers"}
    assert all(np.all(np.asarray(t.y) == 1e-7) for t in floor)
    note = next(a for a in pair[0].layout.annotations if a.text == NO_GRADIENT and a.yref == "y")
    assert note.y == -7


def test_update_ratio_charts_share_one_axis(figures: dict) -> None:
    sick, healthy = figures["update"]
    assert sick.layout.yaxis.range == healthy.layout.yaxis.range
    assert sick.layout.yaxis.tickvals == healthy.layout.yaxis.tickvals
