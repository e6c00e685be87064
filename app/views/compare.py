"""The compare page, as a file st.navigation (and AppTest) can open."""

from app import compare

compare.render()
