"""The Search page, as a file st.navigation (and AppTest) can open."""

from app import search

search.render()
