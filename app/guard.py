"""An unexpected error never shows its traceback in the browser: it is logged here, on the server, with a
short error id, and the page says only that something went wrong, and that id.

`guarded` wraps a page's body (app/main.py wraps every page), each live fragment (a fragment's own runs
are not inside the page's) and the control callbacks (they run before the page). `.streamlit/config.toml`
sets `client.showErrorDetails = "none"` for anything that still escapes. Streamlit's own control flow
(st.rerun, st.stop, st.switch_page) raises BaseExceptions that are not errors: they pass through.
"""

from __future__ import annotations

import functools
import logging
import uuid
from collections.abc import Callable
from typing import Any

import streamlit as st

log = logging.getLogger("layerscope")
if not log.handlers:  # the server's console, whether or not anything set up logging
    _console = logging.StreamHandler()
    _console.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    log.addHandler(_console)
MESSAGE = ("Something went wrong in {what}. The server logged it as error **{error_id}**: reload the page, and if "
           "it happens again, tell whoever runs this server that error id.")


def guarded(what: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A decorator: `what` names the part of the page in the message and the log ("the Compare page")."""

    def decorate(body: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(body)  # keeps the body's name: a fragment's identity comes from it
        def run(*args: Any, **kwargs: Any) -> Any:
            try:
                return body(*args, **kwargs)
            except Exception:
                error_id = uuid.uuid4().hex[:8]
                log.exception("error %s in %s (%s)", error_id, what, body.__qualname__)
                st.error(MESSAGE.format(what=what, error_id=error_id), icon=":material/error:")
                return None

        return run

    return decorate
