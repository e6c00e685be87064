"""Run colours: Okabe-Ito for runs a-d, a fixed other colour for any other id, and each run the same
colour (or hue) in every chart."""

from __future__ import annotations

from app import charts
from tests.chart_helpers import same_hue


def test_run_colours_are_okabe_ito_and_other_ids_get_a_fixed_other_colour():
    okabe_ito = ["#0072B2", "#D55E00", "#009E73", "#CC79A7"]  # blue, vermillion, bluish green, reddish purple
    assert [charts.run_color(r) for r in "abcd"] == okabe_ito
    # Another id gets one of the other colours by its characters, the same in every process (not hash()).
    assert charts.run_color("e") == "#56B4E9" and charts.run_color("zz") == "#E69F00"
    others = {charts.run_color(r) for r in ("e", "f", "g", "h", "zz", "run-7")}
    assert len(others) > 1 and not others & set(okabe_ito)


def test_colours_agree_across_charts(group):
    for run in ("a", "b", "c"):
        colour = charts.run_color(run)
        loss = charts.loss_accuracy_figure(group.scalars)
        depth = charts.gradient_depth_figure(group.layers)
        assert {t.line.color for t in loss.data if t.legendgroup == run} == {colour}
        assert {t.line.color for t in depth.data if t.legendgroup == run} == {colour}
        assert all(same_hue(t.line.color, run) for t in charts.update_ratio_figure(group.layers, run).data
                   if t.legendgroup != "reference")
        assert all(same_hue(t.line.color, run) for t in charts.depth_profile(group.hists, run).data)
