"""The guide page, as a file st.navigation (and AppTest) can open."""

from app import guide

guide.render()
