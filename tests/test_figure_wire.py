"""A figure the pages draw on every refresh is turned into what st.plotly_chart sends once (app/layout.py
`_wire`), and what is sent stays exactly what Streamlit would have sent from the figure itself."""

from __future__ import annotations

import json

import numpy as np
import plotly.io as pio

from app.charts.style import make_figure
from app.layout import _wire


def _figure():
    steps = np.arange(0, 600, 10, dtype=np.float64)
    traces = [{"type": "scatter", "x": steps, "y": np.exp(-steps / (100 + k)), "name": f"h{k}",
               "text": [f"step {int(s)}" for s in steps], "customdata": np.stack([steps, steps * 2], axis=1)}
              for k in range(4)]
    traces.append({"type": "heatmap", "z": np.random.default_rng(0).random((10, 30)), "name": "counts"})
    return make_figure(traces, {"height": 300, "yaxis": {"type": "log", "title": {"text": "loss"}}})


def test_what_is_sent_is_what_the_figure_itself_would_send() -> None:
    figure = _figure()
    assert pio.to_json(_wire(figure), validate=False) == pio.to_json(figure, validate=False)
    sent = json.loads(pio.to_json(_wire(figure), validate=False))
    assert sent["data"][0]["y"]["bdata"]  # arrays travel as base64, as plotly's to_dict makes them
    assert sent["data"][0]["text"][3] == "step 30"
    assert sent["layout"]["yaxis"]["type"] == "log"


def test_the_sent_form_is_made_once_and_reading_it_changes_nothing() -> None:
    figure = _figure()
    wire = _wire(figure)
    assert _wire(figure) is wire
    first = pio.to_json(wire, validate=False)
    assert pio.to_json(wire, validate=False) == first  # serialising twice: the kept dict is not changed
    other = _figure()
    other.update_layout(height=500)
    assert _wire(other) is not wire
    assert json.loads(pio.to_json(_wire(other), validate=False))["layout"]["height"] == 500
