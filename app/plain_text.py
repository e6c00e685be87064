"""Text from outside (a link's keys, values and run labels, what someone typed) shown as itself.

Streamlit renders st.markdown, st.warning, st.error, st.caption and friends as Markdown, with HTML where a
page allows it: a link value `![x](http://host/x.png)` would be an image the browser fetches. `plain`
makes any text literal there: every ASCII punctuation character is backslash-escaped (CommonMark's rule),
except `<`, `>` and `&`, which become HTML character references, literal in Markdown and in HTML alike.
Line breaks become spaces, so the text cannot start a heading, a list or a new paragraph. Escapes cannot
stop GitHub's autolinks (`http://...`, `www.`, `name@host`: found in the text after parsing), so an
invisible word joiner (U+2060) goes into each: the text reads the same and links nowhere.

Use it wherever such text meets one of those calls, and nowhere else; widget labels, st.text, st.code
and st.dataframe cells are plain text already.
"""

from __future__ import annotations

import html
import re

_REFERENCES = {"<": "&lt;", ">": "&gt;", "&": "&amp;"}
_PUNCTUATION = r"!\"#$%'()*+,\-./:;=?@\[\\\]^_`{|}~"
_SPECIAL = re.compile(rf"[{_PUNCTUATION}<>&\r\n]")
_AUTOLINK = re.compile(r"(?<=:)(?=//)|(?<=[wW]{3})(?=\.)|(?=@)")  # after "http:", "www", before "@"
JOINER = "\u2060"


def _escaped(match: re.Match) -> str:
    char = match.group()
    if char in _REFERENCES:
        return _REFERENCES[char]
    return " " if char in "\r\n" else "\\" + char


def plain(text: object) -> str:
    """`text` as Markdown (and inline HTML) that shows exactly `text`, on one line."""
    return _SPECIAL.sub(_escaped, _AUTOLINK.sub(JOINER, str(text)))


def shown(markdown: str) -> str:
    """What a reader sees of `plain(text)` (the text, line breaks as spaces): for tests and logs."""
    return html.unescape(re.sub(rf"\\([{_PUNCTUATION}])", r"\1", markdown)).replace(JOINER, "")
