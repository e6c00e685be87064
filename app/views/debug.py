"""The debug page, as a file st.navigation (and AppTest) can open."""

from app import debug

debug.render()
