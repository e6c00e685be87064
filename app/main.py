"""Layerscope's entry point: `streamlit run app/main.py`.

The body is guarded by `if __name__ == "__main__"`: worker processes are spawned, and a spawned
process must not run the page again (the pool would fail with EOFError).
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `streamlit run` puts app/ on the path, not the repo root
    sys.path.insert(0, str(ROOT))


def main() -> None:
    import streamlit as st

    from app.guard import guarded
    from app.pages import APP_ICON, PAGES, tab_title

    present = st.query_params.get("view") == "present"  # the presenter view starts with the sidebar folded
    st.set_page_config(page_icon=APP_ICON, layout="wide", initial_sidebar_state="collapsed" if present else "auto")
    pages = [  # files, not callables, so that st.switch_page and AppTest can open each page by its path
        st.Page(page.script, title=page.title, icon=page.icon, url_path=path,
                default=page.default and path == page.url_path,
                visibility="visible" if path == page.url_path else "hidden")  # aliases stay out of the menu
        for page in PAGES for path in (page.url_path, *page.aliases)
    ]
    current = st.navigation(pages)
    st.set_page_config(page_title=tab_title(current.title))  # each page its own browser tab title
    guarded(f"the {current.title} page")(current.run)()  # an error shows an error id, never a traceback


if __name__ == "__main__":
    main()
