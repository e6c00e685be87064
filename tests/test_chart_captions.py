"""The words beside the charts: every chart a page draws has its caption and no caption is left over,
every finding and statistic has its words, and hovers name the statistic in words."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

from app import charts, help_texts
from engine.training import predictions as predictions_module
from engine.training.findings import FINDING_CODES
from engine.training.probes import STATS


def test_every_finding_and_statistic_has_its_words():
    assert set(help_texts.FINDING_TITLES) == set(FINDING_CODES)  # the Compare page's titles
    assert set(help_texts.STAT_MEANINGS) == set(STATS)  # the Guide's table: every stat, and no other


def _name(node: ast.expr) -> str | None:
    return node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else None


def _caption_keys_the_pages_use() -> dict[str, set[str]]:
    """The caption keys each module of the app looks up, read from its source: the name of every
    chart(figure, name) drawn without a caption of its own, every HOW_TO_READ["key"], and for a
    HOW_TO_READ[<...>.kind] (the "what the net computes" chart) every kind of Prediction the engine makes."""
    kinds = {node.args[0].value for node in ast.walk(ast.parse(inspect.getsource(predictions_module)))
             if isinstance(node, ast.Call) and _name(node.func) == "Prediction"}
    assert len(kinds) >= 3
    root = Path(__file__).resolve().parent.parent
    used = {}
    for path in sorted((root / "app").rglob("*.py")):
        keys = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Call) and _name(node.func) == "chart":
                arguments = node.args + [k.value for k in node.keywords if k.arg in ("figure", "name")]
                if len(node.args) < 3 and not any(k.arg == "how_to_read" for k in node.keywords):
                    name = arguments[1]
                    assert isinstance(name, ast.Constant), f"{path}:{node.lineno}: a caption key known to no test"
                    keys.add(name.value)
            elif isinstance(node, ast.Call) and _name(node.func) == "titled_pair":  # (title, name, caption)
                for item in node.args[2:]:
                    assert isinstance(item, ast.Tuple) and isinstance(item.elts[1], ast.Constant), (
                        f"{path}:{node.lineno}: a caption key known to no test")
                    if isinstance(item.elts[2], ast.Constant) and item.elts[2].value is None:
                        keys.add(item.elts[1].value)
            elif isinstance(node, ast.Subscript) and _name(node.value) == "HOW_TO_READ":
                if isinstance(node.slice, ast.Constant):
                    keys.add(node.slice.value)
                elif _name(node.slice) == "kind":
                    keys |= kinds
        used[path.relative_to(root).as_posix()] = keys
    return used


def test_the_captions_are_those_of_the_charts_the_pages_draw():
    used = _caption_keys_the_pages_use()
    assert used["app/playground.py"] and used["app/compare.py"]
    drawn = set().union(*used.values())
    assert drawn - set(help_texts.HOW_TO_READ) == set()  # every chart a page draws has its caption ...
    assert set(help_texts.HOW_TO_READ) - drawn == set()  # ... and every caption a chart that a page draws
    for key, text in help_texts.HOW_TO_READ.items():
        assert len(text) > 40, key


def test_hover_names_the_statistic_in_words(deep):
    fig = charts.gradient_time_figure(deep.layers, "a")
    assert fig.data[2].hovertemplate == "gradient size |dL/dz| RMS at h3: %{y:.2g} (step %{x})<extra></extra>"
    depth = charts.gradient_depth_figure(deep.layers)
    assert depth.data[1].hovertemplate.startswith("a · weight gradient size |dL/dW| RMS at %{x}:")
    assert "activation at h1" in charts.histogram_heatmap(deep.hists, "a").data[0].hovertemplate
