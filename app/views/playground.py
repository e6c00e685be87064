"""The playground page, as a file st.navigation (and AppTest) can open."""

from app import playground

playground.render()
