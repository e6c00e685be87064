"""Every page of the app, in one place: its script, its address, its title and icon in the menu, and the
prefix of the session state it owns. app/main.py builds the navigation from PAGES; every link, button
and switch to another page reads the page's record here, never a path or title typed out.

A page's widget keys and st.session_state entries all start with its `prefix` (`compare.job_id`,
`playground.config.lr`), so two pages never share state and each keeps its own when left and revisited.
No state belongs to no page today: the session's id and the job runner are `st.cache_resource`s
(app/runtime.py), not session state.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Page:
    script: str  # relative to app/, where main.py is: what st.Page, st.switch_page, st.page_link and AppTest take
    url_path: str  # the address: /compare
    title: str  # in the menu and as the page's heading
    icon: str  # a Material Symbols name, ":material/science:": Streamlit ships the font, no emoji font needed
    prefix: str  # of every session-state key (widgets included) the page owns
    called: str  # how a sentence names the page: "Open on the Compare page"
    aliases: tuple[str, ...] = ()  # more URL paths that open the page, hidden from the menu
    default: bool = False  # the page at /


PLAYGROUND = Page("views/playground.py", "playground", "Playground", ":material/science:", "playground.",
                  "the Playground", default=True)
GALLERY = Page("views/gallery.py", "gallery", "Gallery", ":material/photo_library:", "gallery.", "the Gallery")
# URL paths are case-sensitive: /Compare?... (as people type it) opens the same page.
COMPARE = Page("views/compare.py", "compare", "Compare", ":material/compare:", "compare.", "the Compare page",
               aliases=("Compare",))
SEARCH = Page("views/search.py", "search", "Search", ":material/travel_explore:", "search.", "the Search page")
DEBUG = Page("views/debug.py", "debug", "Debug", ":material/bug_report:", "debug.", "the Debug page")
WORDS = Page("views/words.py", "words", "Word vectors", ":material/translate:", "words.", "the Word vectors page")
GUIDE = Page("views/guide.py", "guide", "Guide", ":material/menu_book:", "guide.", "the Guide")
PAGES = (PLAYGROUND, GALLERY, COMPARE, SEARCH, DEBUG, WORDS, GUIDE)  # in the menu's order
APP_NAME = "Layerscope"
# The favicon: three layers, fainter with depth, drawn inline. Not a Material icon: Streamlit fetches a Material
# favicon from fonts.gstatic.com (a request that leaves the machine, and fails on a workshop LAN); nor an emoji,
# which needs an emoji font. The menu's Material icons come from the font Streamlit ships.
APP_ICON = ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">'
            + "".join(f'<rect x="4" y="{y}" width="24" height="5" rx="2" fill="#0072B2" fill-opacity="{alpha}"/>'
                      for y, alpha in ((5, 1), (13.5, 0.6), (22, 0.3)))
            + "</svg>")


def tab_title(page_title: str) -> str:
    """The browser tab's title on a page: "Playground · Layerscope"."""
    return f"{page_title} · {APP_NAME}"
