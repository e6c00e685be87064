"""Link text is data: a link's keys, values and run labels reach the page as plain text, never as Markdown
or HTML (the browser test in test_browser.py checks that no such text makes the browser fetch anything)."""

from __future__ import annotations

import re

import pytest

from app.pages import COMPARE
from app.plain_text import plain, shown
from tests.test_safe_pages import _open

C = COMPARE.prefix
HOSTILE = ["![x](http://127.0.0.2:9/v.png)", "<img src=http://127.0.0.2:9/i.png>", "a\n\n# b *c* `d` :red[e] $f$ &lt;",
           "www.example.org and me@example.org"]


@pytest.mark.parametrize("text", HOSTILE)
def test_plain_text_is_one_line_with_no_markdown_or_html_left(text):
    escaped = plain(text)
    assert shown(escaped) == text.replace("\n", " ")
    assert "\n" not in escaped and "<" not in escaped and re.search(r"(?<!\\)[!\[\]()*`:$#]", escaped) is None
    unescaped = escaped.replace("\\", "")  # GitHub's autolinks are found after escapes are gone
    assert "://" not in unescaped and "www." not in unescaped.lower() and not re.search(r"\w@", unescaped)


def test_link_text_reaches_the_page_only_as_plain_text():
    link = {"lr": HOSTILE[0], HOSTILE[1]: "1", "b.label": HOSTILE[0], "c.label": "<b>c</b>", "c.lr": "0.3"}
    app = _open(COMPARE, link)
    assert not app.exception
    texts = [element.value for kind in (app.warning, app.markdown, app.caption, app.error, app.info)
             for element in kind]
    for raw in texts:
        assert "![x](" not in raw and "<img" not in raw and "<b>" not in raw, raw
    assert any(HOSTILE[0] in shown(raw) for raw in texts)  # the bad value, named as it is
    assert any(HOSTILE[1] in shown(raw) for raw in texts)  # the unknown key
    assert app.session_state[f"{C}b.label"] == HOSTILE[0]  # a valid label: kept, shown as text
    assert list(app.dataframe[0].value.columns) == ["a", f"b: {HOSTILE[0]}", "c: <b>c</b>"]


def test_chart_text_shows_a_label_as_text_not_as_plotly_markup():
    from app.charts import run_label

    assert run_label("b", {"b": "<a href='http://127.0.0.2:9/'>x</a> & y"}) == \
        "&lt;a href='http://127.0.0.2:9/'&gt;x&lt;/a&gt; &amp; y"
    assert run_label("c", {"b": "tanh"}) == "c"
