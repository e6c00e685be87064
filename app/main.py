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

    from app import guide, playground

    st.set_page_config(page_title="Layerscope", page_icon="🔬", layout="wide")
    pages = [
        st.Page(playground.render, title="Playground", icon="🧪", url_path="playground", default=True),
        st.Page(guide.render, title="Guide", icon="📖", url_path="guide"),
    ]
    st.navigation(pages).run()


if __name__ == "__main__":
    main()
