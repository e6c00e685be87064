"""The Word vectors page, as a file st.navigation (and AppTest) can open."""

from app import words

words.render()
