"""The gallery page, as a file st.navigation (and AppTest) can open."""

from app import gallery

gallery.render()
