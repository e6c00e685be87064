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

    present = st.query_params.get("view") == "present"  # the presenter view starts with the sidebar folded
    st.set_page_config(page_title="Layerscope", page_icon="🔬", layout="wide",
                       initial_sidebar_state="collapsed" if present else "auto")
    pages = [  # files, not callables, so that st.switch_page and AppTest can open each page by its path
        st.Page("views/playground.py", title="Playground", icon="🧪", url_path="playground", default=True),
        st.Page("views/gallery.py", title="Gallery", icon="🖼️", url_path="gallery"),
        st.Page("views/compare.py", title="Compare", icon="⚖️", url_path="compare"),
        # URL paths are case-sensitive: /Compare?... (as people type it) opens the same page.
        st.Page("views/compare.py", title="Compare", icon="⚖️", url_path="Compare", visibility="hidden"),
        st.Page("views/guide.py", title="Guide", icon="📖", url_path="guide"),
    ]
    st.navigation(pages).run()


if __name__ == "__main__":
    main()
