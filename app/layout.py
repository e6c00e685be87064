"""Small pieces of page layout the pages share: a chart with its words above and its caption, a run's
coloured heading, a pair of charts that stands side by side (one above the other in the presenter view), the
net at a glance with its selector, and a link's problems."""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go
import streamlit as st

from app import address_bar, charts, help_texts
from app.links import Link
from app.plain_text import plain

SHOWN_ABOVE = "shown above"  # in a page's figures: the lesson's key chart, already drawn under its story
_WIRE = "_layerscope_wire"  # where a figure keeps the form it is sent in (`_wire`)


def chart(figure: go.Figure | str, name: str, how_to_read: str | None = None, words: Sequence[str] = ()) -> None:
    """A figure, the `words` that say what its numbers show right above it (plain text, one line each: the
    browser wraps them, where a figure's own text runs past a phone's edge), and its "how to read this" line
    below: help_texts.HOW_TO_READ[name] unless given ("" for none). The lesson's key chart (SHOWN_ABOVE) is
    not drawn twice: its usual place says where it is."""
    if isinstance(figure, str):
        st.caption("This chart is at the top of the page, under the lesson's story.")
        return
    if words:
        st.markdown("  \n".join(plain(line) for line in words))  # two spaces and a newline: a line break
    plot(figure, f"chart-{name}")
    caption = help_texts.HOW_TO_READ[name] if how_to_read is None else how_to_read
    if caption:
        st.caption(caption)


def plot(figure: go.Figure, key: str) -> None:
    """A figure the page draws again on every refresh (a cached one), sent in its `_wire` form."""
    st.plotly_chart(_wire(figure), key=key, config={"displaylogo": False}, theme=None)


class _Sent(go.Figure):
    """A figure that is already in the form st.plotly_chart sends (`to_dict`'s: arrays as base64)."""

    def __init__(self, sent: dict):
        super().__init__()
        self._sent = sent

    def to_dict(self) -> dict:
        return self._sent  # read, never changed: plotly.io.to_json makes its own cleaned copy


def _wire(figure: go.Figure) -> go.Figure:
    """The figure as it is sent, made once per figure. st.plotly_chart turns a figure into a dict on every
    run (a deep copy, every array encoded as base64, every list walked): 70% of a viewer's refresh (py-spy).
    The pages build each figure once per data version and share it, so that work is done once too, and what is
    sent is the same. A drawn figure is never changed afterwards (story.py resizes a copy)."""
    wire = getattr(figure, _WIRE, None)
    if wire is None:
        wire = _Sent(figure.to_dict())
        setattr(figure, _WIRE, wire)
    return wire


def run_heading(run_id: str, text: str, size: str = "1rem") -> None:
    """A run's name (`text`, plain text: a label may come from a link) in its colour, the colour it has in
    every chart."""
    st.markdown(f"<span style='color:{charts.run_color(run_id)};font-weight:700;font-size:{size}'>"
                f"● {plain(text)}</span>", unsafe_allow_html=True)


def pair(present: bool) -> tuple:
    """Two charts side by side, or one above the other in the presenter view (bigger)."""
    return (st.container(), st.container()) if present else tuple(st.columns(2))


def folds(present: bool, count: int) -> list:
    """Places for a page's setup (runs, controls, share), in page order: one above the other, or in the
    presenter view side by side in one row, each folded, so the story and the key chart fit one screen."""
    return list(st.columns(count)) if present else [st.container() for _ in range(count)]


def titled_pair(present: bool, figures: dict, *charts_: tuple[str, str, str | None]) -> None:
    """Two charts under their own headings, side by side (`pair`): each (heading, figure name, caption or None
    for its usual one); a figure that is None (nothing to draw yet) leaves its heading alone."""
    for column, (title, name, how_to_read) in zip(pair(present), charts_):
        with column:
            st.subheader(title)
            if figures[name] is not None:
                chart(figures[name], name, how_to_read)


def network_chart(figures: dict, scope: str) -> None:
    """The net at a glance under a small selector of the per-layer quantity that colours it (default: the
    first, gradient size); the page's figure cache holds one figure per quantity, as `network_<quantity>`."""
    choice = st.radio("Colour the layers by", list(charts.NETWORK_QUANTITIES), horizontal=True,
                      format_func=lambda name: charts.NETWORK_QUANTITIES[name].label, key=f"{scope}network_quantity",
                      label_visibility="collapsed")
    chart(figures[f"network_{choice}"], "network")


def page_top(scope: str, title: str) -> tuple[Link, bool]:
    """A page's title and its link's warning; returns what the page's last link set and whether the page is
    in the presenter view. The presenter view of a lesson leaves the page's title out: the story has its own,
    and the story and its key chart share one screen."""
    link = address_bar.current(scope)
    if not (link.view == "present" and link.preset):
        st.title(title)
    link_warning(st.session_state.get(f"{scope}link_problems", []))
    return link, link.view == "present"


def link_warning(lines: list[str]) -> None:
    """One warning box for everything wrong with the link the page was opened with, each line plain text."""
    if lines:
        st.warning("This link has problems; the rest of it applies.\n\n" +
                   "\n".join(f"- {plain(line)}" for line in lines))
