"""The Share panel: the link of what the page shows, a Copy button, and a QR code big enough to scan
from a projected screen (drawn by segno, a maintained QR library), plus the presenter's variant.

The links use the public address (app/public_address.py), with a plain warning when that address is
local and no other device can open it. The participants' link never carries the presenter's layout
(`view=present`): only the presenter link does."""

from __future__ import annotations

import io
import json
from functools import lru_cache

import segno
import streamlit as st

from app.address_bar import share_url
from app.public_address import local_warning

QR_SIZE = 320  # px in the panel; the full-screen dialog draws it at 640
COPY_BUTTON = """<div style="font-family:sans-serif">
<button id="copy" style="padding:6px 14px;border-radius:8px;border:1px solid #bbb;background:#fff;cursor:pointer">
Copy link</button> <span id="said" style="color:#555;font-size:14px"></span></div>
<script>
const url = {url};
const said = document.getElementById("said");
document.getElementById("copy").onclick = async () => {{
  try {{ await navigator.clipboard.writeText(url); said.textContent = "Copied."; }}
  catch (error) {{  // plain http on a LAN: no clipboard API; the old way still works in most browsers
    const area = document.createElement("textarea"); area.value = url; document.body.appendChild(area);
    area.select(); said.textContent = document.execCommand("copy") ? "Copied." : "Select the link above and copy it.";
    area.remove();
  }}
}};
</script>"""


@lru_cache(maxsize=256)
def qr_png(url: str, scale: int = 8) -> bytes:
    """The link as a QR code image (PNG), error correction M: readable from a photo of a projector."""
    buffer = io.BytesIO()
    segno.make(url, error="m", micro=False).save(buffer, kind="png", scale=scale, border=3)
    return buffer.getvalue()


def _copy_button(url: str) -> None:
    script_safe = json.dumps(url).replace("</", "<\\/")  # the link is data, never markup
    st.iframe(COPY_BUTTON.format(url=script_safe), height=44)


@st.dialog("Scan to open this view", width="large")
def _big_qr(url: str) -> None:
    if local_warning(url):
        st.warning(local_warning(url), icon=":material/wifi_off:")
    st.image(qr_png(url, scale=16), width=640)
    st.code(url, language=None, wrap_lines=True)


def share_panel(params: dict[str, str], *, training: bool, expanded: bool = False) -> None:
    """The page's link (`params`) with a Copy button and its QR code, and the presenter link. Once the page
    trains, the links carry autorun=1: whoever opens them joins the same run at once."""
    joined = {key: value for key, value in params.items() if key != "view"}  # participants get the usual layout
    joined = {**joined, "autorun": "1"} if training else joined
    url = share_url(joined)
    presenter_url = share_url({**joined, "view": "present"})
    warning = local_warning(url)
    title = "Share this view" if warning is None else "Share this view · its address is local: phones cannot open it"
    with st.expander(title, expanded=expanded, icon=":material/share:"):
        if warning:
            st.warning(warning, icon=":material/wifi_off:")
        left, right = st.columns([3, 2])
        with left:
            st.code(url, language=None, wrap_lines=True)
            _copy_button(url)
            st.caption("Everyone who opens this link sees the same setup and, with `autorun=1` (there once this "
                       "page trains), the same run: one run for the whole room. Add `&lock=lr,activation` to "
                       "make controls read-only.")
            st.markdown("**Presenter view** (bigger charts, the story, controls folded away):")
            st.code(presenter_url, language=None, wrap_lines=True)
        with right:
            st.image(qr_png(url), width=QR_SIZE, caption="Scan to open this view")
            if st.button("Show the QR code full screen", icon=":material/qr_code_2:"):
                _big_qr(url)
